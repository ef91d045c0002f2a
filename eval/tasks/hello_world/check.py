"""hello.py exists, runs, and prints 5."""

import subprocess
import sys
from pathlib import Path

workspace = Path(sys.argv[1])
script = workspace / "hello.py"
if not script.is_file():
    sys.exit("hello.py was not written")
run = subprocess.run([sys.executable, "hello.py"], cwd=workspace, capture_output=True, text=True, timeout=60)
if run.returncode != 0:
    sys.exit(f"python hello.py exited {run.returncode}: {run.stderr.strip()[-200:]}")
if run.stdout.strip().splitlines()[-1:] != ["5"] and "5" not in run.stdout.split():
    sys.exit(f"python hello.py printed {run.stdout.strip()[:100]!r}, not 5")
print("hello.py prints 5")
