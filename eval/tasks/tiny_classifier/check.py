"""train.py trains, and the accuracy it prints on a held-out set it never saw is at least 0.85.

The workspace's test.csv is replaced by a hidden test set before train.py runs again, so a printed constant or
a model fitted to test.csv does not pass: the metric is read from the script's own output on new data.
"""

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

workspace, task = Path(sys.argv[1]), Path(__file__).resolve().parent
if not (workspace / "train.py").is_file():
    sys.exit("train.py was not written")
with tempfile.TemporaryDirectory() as tmp:
    copy = Path(tmp) / "ws"
    shutil.copytree(workspace, copy)
    shutil.copy(task / "hidden_test.csv", copy / "test.csv")
    run = subprocess.run([sys.executable, "train.py"], cwd=copy, capture_output=True, text=True, timeout=300)
if run.returncode != 0:
    sys.exit(f"python train.py exited {run.returncode}: {run.stderr.strip()[-200:]}")
found = re.findall(r"accuracy\s*[:=]\s*([0-9.]+)", run.stdout, re.I)
if not found:
    sys.exit(f"train.py printed no `accuracy: X` line: {run.stdout.strip()[-200:]!r}")
accuracy = float(found[-1])
accuracy = accuracy / 100 if accuracy > 1 else accuracy
if accuracy < 0.85:
    sys.exit(f"accuracy on the hidden test set is {accuracy:.3f}, below 0.85")
print(f"accuracy on the hidden test set: {accuracy:.3f}")
