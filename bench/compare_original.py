"""Side by side with the original ML Intern (github.com/huggingface/ml-intern): the same workload through each
one's real loop, with an instant in-process fake model; each step is one `read` of a different ~2 KB file.

    ML_INTERN_ORIGINAL=/path/to/ml-intern ML_INTERN_ORIGINAL_PYTHON=/path/to/its-venv/bin/python \\
        uv run python -m bench.compare_original        # or: uv run python -m bench --only original

ML_INTERN_ORIGINAL is a checkout of the original; ML_INTERN_ORIGINAL_PYTHON an interpreter with its
dependencies (`uv venv V && uv pip install --python V/bin/python -e CHECKOUT`; default: CHECKOUT/.venv). Without
them the comparison is skipped with one line saying what to set. Nothing of the original is copied here: a
small driver, run by its interpreter in a throw-away folder, imports its modules.

Measured for each, in one run, one session whose turns end at 10, 300 and 1,000 steps:
- CPU per step: process CPU time from the start of one read to the start of the next (the model call, the
  loop's own work, saving, the tool), the median over the last tenth of the steps before each size;
- stored: ours, the session's bytes in the checkpoint tables (SQLite); the original, the session files it
  writes (a JSON trajectory saved after each turn, none while a turn runs);
- kill -9: a turn of 200 steps killed when the 150th read starts; how many of the 150 steps a new process
  finds saved.
The original's fake model answers through litellm's own stream types; its uploads to the Hub (detached
processes at start and after each save) and its MCP servers are turned off: they need the network.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import ROOT, Sandbox, filler
from bench.stats import Figure, Section

SIZES = [10, 300, 1000]
KILL_AT, KILL_TURN = 150, 200
LINES, LINE_CHARS = 32, 60  # ~2 KB a file, as bench/workload.py

ORIGINAL_DRIVER = r'''
import asyncio, json, os, sys, time
from pathlib import Path

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # its price-map download would only add network waits
spec = json.loads(sys.argv[1])
sizes, kill_at, files = spec["sizes"], spec.get("kill_at"), spec["files"]

from litellm.types.utils import (
    ChatCompletionDeltaToolCall, Delta, Function, ModelResponseStream, StreamingChoices, Usage,
)
import agent.core.agent_loop as loop
import agent.tools.local_tools as local_tools
from agent.config import load_config
from agent.core.session import Session, OpType
from agent.core.tools import ToolRouter
from agent.main import CLI_CONFIG_PATH, Operation, Submission

stamps = []
read = local_tools._HANDLERS["read"]

async def stamped_read(args, **kw):
    stamps.append(time.process_time())
    if kill_at and len(stamps) == kill_at:
        print("STEP", len(stamps), flush=True)
        await asyncio.sleep(3600)  # the parent kills us here
    return await read(args, **kw)

local_tools._HANDLERS["read"] = stamped_read
Session._spawn_uploader = lambda self, *a, **k: None  # uploads to the Hub: network, detached processes
Session.retry_failed_uploads_detached = staticmethod(lambda *a, **k: None)

calls = {"n": 0, "target": 0}

def chunk(**delta_and_finish):
    finish = delta_and_finish.pop("finish_reason", None)
    return ModelResponseStream(choices=[StreamingChoices(index=0, delta=Delta(**delta_and_finish), finish_reason=finish)])

async def fake_acompletion(**kwargs):
    """The next scripted answer, streamed instantly: a read of the next file, or the turn's answer."""
    i = calls["n"]
    answer = i >= calls["target"]  # the turn's reads are done: answer, which ends the turn
    if not answer:
        calls["n"] += 1
    async def stream():
        if answer:
            yield chunk(content="done", role="assistant")
            yield chunk(finish_reason="stop")
        else:
            args = json.dumps({"path": f"{files}/f{i:04d}.txt"})
            call = ChatCompletionDeltaToolCall(id=f"c{i}", index=0, type="function", function=Function(name="read", arguments=args))
            yield chunk(tool_calls=[call], role="assistant")
            yield chunk(finish_reason="tool_calls")
        final = ModelResponseStream(choices=[])
        final.usage = Usage(prompt_tokens=1000, completion_tokens=10, total_tokens=1010)
        yield final
    return stream()

loop.acompletion = fake_acompletion

def stored() -> int:
    """Bytes of every file it wrote: its working folder and its home."""
    roots = [Path("."), Path(os.environ["HOME"])]
    return sum(p.stat().st_size for root in roots for p in root.rglob("*") if p.is_file())

async def main():
    config = load_config(CLI_CONFIG_PATH, include_user_defaults=False)
    config.model_name = "ollama/fake"
    config.mcpServers = {}
    config.yolo_mode = True
    config.max_iterations = max(sizes) + 10
    submissions, events = asyncio.Queue(), asyncio.Queue()
    router = ToolRouter({}, hf_token=None, local_mode=True)
    task = asyncio.create_task(loop.submission_loop(submissions, events, config=config, tool_router=router, local_mode=True, stream=True))
    while (await events.get()).event_type != "ready":
        pass
    stored_after = {}
    for turn, size in enumerate(sizes):
        calls["target"] = size
        text = f"read up to {size}"
        await submissions.put(Submission(id=f"s{turn}", operation=Operation(op_type=OpType.USER_INPUT, data={"text": text})))
        while (await events.get()).event_type not in ("turn_complete", "error"):
            pass
        await asyncio.sleep(0.2)  # its save runs right after turn_complete
        stored_after[size] = stored()
    print("RESULT", json.dumps({"stamps": stamps, "stored": stored_after}), flush=True)
    task.cancel()

asyncio.run(main())
'''

OURS_DRIVER = r"""
import asyncio, dataclasses, json, sys, time
from pathlib import Path

spec = json.loads(sys.argv[1])
sys.path.insert(0, spec["root"])
sizes, kill_at, files = spec["sizes"], spec.get("kill_at"), spec["files"]

from bench import accounting
from bench.harness import answer_turn, call_turn, load_settings
from graph.session import SessionManager
from nodes.context import AgentDeps
from tools.registry import builtin_tools

async def main():
    settings = load_settings({"max_iterations": max(sizes) + 10})
    registry = builtin_tools(settings, ["tools.files"])
    read = registry.get("read")
    stamps = []

    async def stamped(args, ctx):
        stamps.append(time.process_time())
        if kill_at and len(stamps) == kill_at:
            print("STEP", len(stamps), flush=True)
            await asyncio.sleep(3600)  # the parent kills us here
        try:
            return await read.handler(args, ctx)
        except Exception as exc:  # a failing read would measure something else
            print("READ FAILED", exc, file=sys.stderr, flush=True)
            os._exit(3)

    registry.add(dataclasses.replace(read, handler=stamped))
    lines, done = [], 0
    for size in sizes:
        lines += [call_turn("read", {"path": f"{files}/f{i:04d}.txt"}, f"c{i}") for i in range(done, size)]
        lines.append(answer_turn())
        done = size
    script = Path(spec["script"])
    script.write_text("".join(json.dumps(line) + "\n" for line in lines))
    home = Path(spec["home"])
    deps = AgentDeps(settings=settings, model_id=f"replay:{script}", tools=registry,
                     workspace=Path(spec["workspace"]), approval_mode="yolo", home=home)
    async with SessionManager.open(deps) as agent:
        session = await agent.new_session()
        print("SESSION", session.id, flush=True)
        stored_after = {}
        for size in sizes:
            async for _ in session.run(f"read up to {size}"):
                pass
            stored_after[size] = accounting.sqlite(home / "sessions.sqlite", session.id, False)[0]
    print("RESULT", json.dumps({"stamps": stamps, "stored": stored_after}), flush=True)

asyncio.run(main())
"""

COUNT_OURS = r"""
import asyncio, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])

async def main():
    from configs.loader import load_config
    from graph.session import SessionManager
    from nodes.context import AgentDeps
    from tools.registry import ToolRegistry

    deps = AgentDeps(settings=load_config(), model_id="replay:/dev/null", tools=ToolRegistry(), workspace=Path("."))
    async with SessionManager.open(deps) as agent:  # a new process: only what was saved
        session = await agent.load_session(sys.argv[2])
        messages = (await session.state()).values.get("messages", [])
        print(sum(1 for m in messages if m.type == "tool" and m.status == "success"))
asyncio.run(main())
"""


def original_paths() -> tuple[Path, Path] | str:
    """(checkout, interpreter) of the original, or the line that says why there is none."""
    checkout = os.environ.get("ML_INTERN_ORIGINAL")
    if not checkout:
        return "skipped: set ML_INTERN_ORIGINAL to a checkout of github.com/huggingface/ml-intern"
    root = Path(checkout).expanduser().resolve()
    if not (root / "agent" / "core" / "agent_loop.py").is_file():
        return f"skipped: {root} is not a checkout of the original ML Intern (no agent/core/agent_loop.py)"
    python = Path(os.environ.get("ML_INTERN_ORIGINAL_PYTHON") or root / ".venv" / "bin" / "python")
    if not python.exists():
        return (
            f"skipped: no interpreter with the original's dependencies at {python}: set ML_INTERN_ORIGINAL_PYTHON "
            f"(uv venv V && uv pip install --python V/bin/python -e {root})"
        )
    return root, python


def write_files(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        text = "\n".join(filler(f"{i}-{j}", LINE_CHARS) for j in range(LINES)) + "\n"
        (folder / f"f{i:04d}.txt").write_text(text)


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONDONTWRITEBYTECODE", "ML_INTERN_DATABASE_URL"}}
    env.update(extra)
    return env


def _run(argv: list[str], cwd: Path, env: dict[str, str], kill_at: int | None) -> tuple[dict | None, list[str]]:
    """Run a driver; with kill_at, SIGKILL it (its whole group) once it prints STEP. Returns its RESULT."""
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if kill_at and line.startswith("STEP"):
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=600)
    if not kill_at and proc.returncode != 0:
        raise RuntimeError(f"{argv[1]} exited {proc.returncode}: {proc.stderr.read()[-1500:]}")
    result = next((json.loads(x.split(" ", 1)[1]) for x in lines if x.startswith("RESULT ")), None)
    return result, lines


def per_step(stamps: list[float], sizes: list[int]) -> dict[int, float]:
    steps = [b - a for a, b in itertools.pairwise(stamps)]
    out = {}
    for size in sizes:
        width = max(9, size // 10)
        end = min(size - 1, len(steps))
        out[size] = statistics.median(steps[max(0, end - width) : end]) * 1000
    return out


def measure_original(root: Path, python: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="ml-intern-original-") as tmp:
        work = Path(tmp)
        write_files(work / "data", max(SIZES))
        env = _env({"PYTHONPATH": str(root), "HOME": str(work / "home"), "HF_HOME": str(work / "hf")})
        for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
            env.pop(var, None)
        (work / "home").mkdir()
        driver = work / "driver.py"
        driver.write_text(ORIGINAL_DRIVER)
        spec = {"sizes": SIZES, "files": str(work / "data")}
        run_dir = work / "run"
        run_dir.mkdir()
        result, _ = _run([str(python), str(driver), json.dumps(spec)], run_dir, env, None)
        kill_dir = work / "kill"
        kill_dir.mkdir()
        spec = {"sizes": [KILL_TURN], "files": str(work / "data"), "kill_at": KILL_AT}
        _run([str(python), str(driver), json.dumps(spec)], kill_dir, env, KILL_AT)
        saved = 0
        for path in kill_dir.rglob("*.json"):  # its session files, if it saved any
            try:
                messages = json.loads(path.read_text()).get("messages") or []
            except (ValueError, AttributeError):
                continue
            saved = max(saved, sum(1 for m in messages if m.get("role") == "tool"))
    return {
        "cpu": per_step(result["stamps"], SIZES),
        "stored": {int(k): v for k, v in result["stored"].items()},
        "killed": saved,
    }


def measure_ours() -> dict:
    with Sandbox() as sandbox:
        write_files(sandbox.workspace / "data", max(SIZES))  # read refuses paths outside the workspace
        env = _env(sandbox.env())
        driver = sandbox.root / "ours.py"
        driver.write_text(OURS_DRIVER)
        spec = {
            "root": str(ROOT),
            "sizes": SIZES,
            "files": str(sandbox.workspace / "data"),
            "home": str(sandbox.home),
            "workspace": str(sandbox.workspace),
            "script": str(sandbox.root / "script.jsonl"),
        }
        result, _ = _run([sys.executable, str(driver), json.dumps(spec)], sandbox.workspace, env, None)
        killed = {**spec, "sizes": [KILL_TURN], "kill_at": KILL_AT, "home": str(sandbox.root / "killed")}
        killed["script"] = str(sandbox.root / "killed.jsonl")
        _, lines = _run([sys.executable, str(driver), json.dumps(killed)], sandbox.workspace, env, KILL_AT)
        session = next(x.split(" ", 1)[1] for x in lines if x.startswith("SESSION "))
        count = sandbox.root / "count.py"
        count.write_text(COUNT_OURS)
        found = subprocess.run(
            [sys.executable, str(count), str(ROOT), session],
            env={**env, "ML_INTERN_HOME": killed["home"]},
            cwd=sandbox.workspace,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if found.returncode != 0:
            raise RuntimeError(f"reading the killed session failed: {found.stderr[-800:]}")
    return {
        "cpu": per_step(result["stamps"], SIZES),
        "stored": {int(k): v for k, v in result["stored"].items()},
        "killed": int(found.stdout.strip().splitlines()[-1]),
    }


def table(ours: dict, original: dict) -> str:
    rows = ["| | ours | original |", "|---|---:|---:|"]
    for size in SIZES:
        rows.append(f"| CPU per step at {size:,} steps | {ours['cpu'][size]:.2f} ms | {original['cpu'][size]:.2f} ms |")
    rows.append(
        f"| CPU per step, growth 1,000 / 10 steps | {ours['cpu'][1000] / ours['cpu'][10]:.2f}x "
        f"| {original['cpu'][1000] / original['cpu'][10]:.2f}x |"
    )
    for size in SIZES:
        rows.append(
            f"| stored after {size:,} steps | {ours['stored'][size] / 1e6:.2f} MB | {original['stored'][size] / 1e6:.2f} MB |"
        )
    rows.append(
        f"| steps surviving `kill -9` at step {KILL_AT} | {ours['killed']} of {KILL_AT} | {original['killed']} of {KILL_AT} |"
    )
    return "\n".join(rows)


def run(quick: bool = False) -> Section:
    section = Section("Side by side with the original ML Intern (one `read` of a different ~2 KB file per step)")
    found = original_paths()
    if isinstance(found, str):
        section.notes.append(f"Comparison {found}.")
        return section
    original = measure_original(*found)
    ours = measure_ours()
    for size in SIZES:
        section.figures.append(Figure(f"ours: CPU per step at {size:,} steps", [ours["cpu"][size]], "ms"))
        section.figures.append(Figure(f"original: CPU per step at {size:,} steps", [original["cpu"][size]], "ms"))
    for size in SIZES:
        section.figures.append(Figure(f"ours: stored after {size:,} steps", [ours["stored"][size] / 1e6], "MB"))
        section.figures.append(Figure(f"original: stored after {size:,} steps", [original["stored"][size] / 1e6], "MB"))
    section.notes.append(table(ours, original))
    return section


def main() -> int:
    found = original_paths()
    if isinstance(found, str):
        print(f"compare_original: {found}")
        return 0
    started = time.perf_counter()
    original = measure_original(*found)
    ours = measure_ours()
    print(table(ours, original))
    print(f"\n({time.perf_counter() - started:.0f} s; CPU medians of one run each, on this machine as loaded now)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
