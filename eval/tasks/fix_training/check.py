"""train.py runs to the end and its final loss is small (the model really fits y = 3x + 1)."""

import re
import subprocess
import sys
from pathlib import Path

workspace = Path(sys.argv[1])
run = subprocess.run([sys.executable, "train.py"], cwd=workspace, capture_output=True, text=True, timeout=120)
if run.returncode != 0:
    sys.exit(f"python train.py still fails (exit {run.returncode}): {run.stderr.strip()[-200:]}")
found = re.findall(r"final loss:\s*([0-9.eE+-]+)", run.stdout)
if not found:
    sys.exit(f"train.py no longer prints its final loss: {run.stdout.strip()[-200:]!r}")
loss = float(found[-1])
if loss > 0.01:
    sys.exit(f"final loss {loss} is above 0.01: the fit is wrong")
print(f"final loss {loss}")
