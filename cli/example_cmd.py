"""`ml-intern example [NAME]`: replay a recorded example session into a fresh workspace folder.

Only the model's turns are scripted (examples/<name>/session.jsonl); each step runs the real
`ml-intern` with the real graph and tools, so an example is also an end-to-end check.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from cli import exit_codes
from cli.bootstrap import UserError

_HERE = Path(__file__).resolve().parent
# An installed wheel ships examples/ inside this package (pyproject: force-include); a checkout has it at the top.
EXAMPLES = next((p for p in (_HERE / "examples", _HERE.parent / "examples") if p.is_dir()), _HERE / "examples")


def available() -> dict[str, Path]:
    if not EXAMPLES.is_dir():
        return {}
    return {p.name.replace("_", "-"): p for p in sorted(EXAMPLES.iterdir()) if (p / "example.json").is_file()}


def describe() -> str:
    lines = ["examples (run one with `ml-intern example NAME`):"]
    for name, folder in available().items():
        spec = json.loads((folder / "example.json").read_text())
        lines.append(f"  {name:<18} {spec['title']}: {spec['summary']}")
    return "\n".join(lines)


def find_session(workspace: Path) -> str:
    """The id of the session the example's first step started (the newest one in its workspace)."""
    out = subprocess.run(
        [sys.executable, "-m", "cli.main", "sessions", "list", "--json"], capture_output=True, text=True, check=True
    ).stdout
    for info in json.loads(out):
        if info["workspace"] == str(workspace):
            return info["id"]
    raise UserError("the example's session was not found in `ml-intern sessions list`", exit_codes.AGENT_ERROR)


def run_example(name: str, workspace: str | None, model: str | None = None) -> int:
    """Replay example NAME; with `model`, give the same task to a real model instead of the recording."""
    examples = available()
    folder = examples.get(name.replace("_", "-"))
    if folder is None:
        raise UserError(f"no example '{name}'. {describe()}")
    spec = json.loads((folder / "example.json").read_text())
    if model and len(spec["steps"]) > 1:
        raise UserError(
            f"'{name}' is a scripted tour whose later steps answer the recorded calls; run it without --model"
        )
    target = Path(workspace or f"ml-intern-examples/{folder.name}-{time.strftime('%Y%m%d-%H%M%S')}").resolve()
    if target.exists() and any(target.iterdir()):
        raise UserError(f"{target} is not empty: pass an empty or new folder to --workspace")
    shutil.copytree(folder / "workspace", target, dirs_exist_ok=True)
    print(f"== {spec['title']}: {spec['summary']}\n== workspace: {target}", file=sys.stderr, flush=True)
    values = {"replay": model or f"replay:{folder / 'session.jsonl'}", "workspace": str(target), "session": ""}
    for step in spec["steps"]:
        if "{session}" in " ".join(step["args"]) and not values["session"]:
            values["session"] = find_session(target)
        args = [arg.format(**values) for arg in step["args"]]
        print(f"\n== {step['say']}\n$ ml-intern {' '.join(_quote(a) for a in args)}", file=sys.stderr, flush=True)
        code = subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=target).returncode
        if code != step["expect"]:
            print(f"== step exited {code}, expected {step['expect']}", file=sys.stderr)
            return exit_codes.AGENT_ERROR
    print(f"\n== done. Files are in {target}", file=sys.stderr)
    return exit_codes.DONE


def _quote(arg: str) -> str:
    return f"'{arg}'" if (" " in arg or not arg) else arg
