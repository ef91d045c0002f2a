"""Start-up: `ml-intern --help` and `--version` wall time, the interactive chat's time to a prompt that
takes input, a first turn's time from process start to the first request at a local OpenAI-compatible
server, and which imports cost the most (python -X importtime) for the CLI entry and a first turn.

Commands run round-robin with two floors measured in the same run: `python -c pass` (the interpreter)
and `python -c "import typer"` (the CLI framework, which `--help` cannot avoid). The quick gate is
--help over the typer floor: the interpreter floor is only ~1/6 of --help, so a ratio against it says
little, while any eager engine import (pydantic ~2x, httpx ~3x, langgraph or litellm 10x+ the typer
floor) pushes --help past 2x the typer floor.
"""

from __future__ import annotations

import re
import sys
import time
from collections import defaultdict

from bench.harness import ROOT, Sandbox, answer_turn, cli_command, interleaved
from bench.stats import Check, Figure, Section

HELP_BUDGET_S = 0.3
PROMPT_BUDGET_S = 1.0
FLOOR_LIMIT = 2.0  # quick gate: --help / --version over `python -c "import typer"`
HEAVY = ("litellm", "langgraph", "langchain_core", "huggingface_hub", "httpx")
PROMPT = "› "
ANSWER = "pong from the replay model"
IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def parse_importtime(stderr: str) -> list[tuple[str, int, int, int]]:
    """(module, self us, cumulative us, depth) for every line of -X importtime output."""
    rows = []
    for line in stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match:
            rows.append((match.group(4), int(match.group(1)), int(match.group(2)), len(match.group(3)) // 2))
    return rows


def offenders(rows: list[tuple[str, int, int, int]], top: int = 6) -> tuple[float, list[tuple[str, float]]]:
    """Total import time (ms) and the packages whose own modules took longest (self time summed)."""
    by_package: dict[str, int] = defaultdict(int)
    for module, self_us, _cum, _depth in rows:
        by_package[module.split(".")[0]] += self_us
    total = sum(cum for _m, _s, cum, depth in rows if depth == 0) / 1000
    ranked = sorted(by_package.items(), key=lambda kv: -kv[1])[:top]
    return total, [(name, us / 1000) for name, us in ranked]


def importtime(argv: list[str], env: dict[str, str], cwd) -> list[tuple[str, int, int, int]]:
    """Run `python -X importtime ARGV...` (ARGV after the interpreter) and parse what it imported."""
    import subprocess

    result = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        input="",
    )
    if result.returncode != 0:
        raise RuntimeError(f"`{' '.join(argv[:3])}` exited {result.returncode}: {result.stderr[-300:]}")
    return parse_importtime(result.stderr)


def _provider_importtime(entry: list[str], env: dict[str, str], cwd) -> list:
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from fakes.openai_server import FakeOpenAI, reply
    except ImportError:
        return []
    with FakeOpenAI([reply("pong")]) as server:
        return importtime([*entry, "-m", "vllm/test-model", "ping"], {**env, "VLLM_BASE_URL": server.base_url}, cwd)


def _offender_note(label: str, rows) -> str:
    total, top = offenders(rows)
    listed = ", ".join(f"{name} {ms:.0f} ms" for name, ms in top)
    return f"Imports of {label}: {total:.0f} ms in all; most self time in {listed}."


def interactive_prompt(sandbox: Sandbox, repeats: int) -> tuple[list[float], list[float], str]:
    """Seconds until the chat's prompt is up, and until the answer to a message typed at once arrives.

    Returns empty lists and the reason when the chat cannot be driven (it is still being built)."""
    try:
        import pexpect
    except ImportError:
        return [], [], "not measured: pexpect is not installed (uv sync installs the dev group)"
    model = sandbox.script([answer_turn(ANSWER) for _ in range(repeats + 1)])
    env = {**sandbox.env(), "TERM": "xterm", "COLUMNS": "120", "LINES": "40", "PROMPT_TOOLKIT_NO_CPR": "1"}
    binary = cli_command()
    prompts, answers = [], []
    for run in range(repeats + 1):  # the first run writes bytecode caches and the first-run state
        started = time.perf_counter()
        child = pexpect.spawn(
            binary[0],
            [*binary[1:], "--model", model],
            cwd=str(sandbox.workspace),
            env=env,
            encoding="utf-8",
            timeout=60,
            dimensions=(40, 120),
        )
        try:
            child.expect_exact(PROMPT)
            prompt_at = time.perf_counter()
            child.send("ping\r")
            child.expect_exact(ANSWER)
            answer_at = time.perf_counter()
            child.send("/exit\r")
            child.expect(pexpect.EOF, timeout=30)
        except (pexpect.TIMEOUT, pexpect.EOF):
            seen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before or "")[-200:].strip()
            return [], [], f"not measured: the chat did not show its prompt and answer ({seen!r})"
        finally:
            child.close(force=True)
        if run:
            prompts.append(prompt_at - started)
            answers.append(answer_at - started)
    return prompts, answers, ""


def first_request(sandbox: Sandbox, repeats: int) -> tuple[list[float], list[float], str]:
    """Seconds from starting `ml-intern -m vllm/test-model PROMPT` to the first request reaching a local
    OpenAI-compatible server (tests/fakes/openai_server.py), and to the process' end (one answer)."""
    import subprocess

    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from fakes.openai_server import FakeOpenAI, reply
    except ImportError as exc:
        return [], [], f"not measured: {exc}"
    requests, wholes = [], []
    for run in range(repeats + 1):  # the first run writes bytecode caches
        with FakeOpenAI([reply("pong")]) as server:
            env = {**sandbox.env(), "VLLM_BASE_URL": server.base_url}
            started = time.time()
            result = subprocess.run(
                [*cli_command(), "-m", "vllm/test-model", "ping"],
                env=env,
                cwd=sandbox.workspace,
                capture_output=True,
                text=True,
                timeout=180,
            )
            ended = time.time()
            if result.returncode != 0 or not server.requests:
                return [], [], f"not measured: exit {result.returncode}: {result.stderr.strip()[-200:]}"
            if run:
                requests.append(server.requests[0]["at"] - started)
                wholes.append(ended - started)
    return requests, wholes, ""


def run(quick: bool) -> Section:
    repeats = 5 if quick else 10
    section = Section("Start-up (wall time of a fresh process)")
    with Sandbox() as sandbox:
        env, cwd, binary = sandbox.env(), sandbox.workspace, cli_command()
        times = interleaved(
            {
                "pass": ([sys.executable, "-c", "pass"], env),
                "typer": ([sys.executable, "-c", "import typer"], env),
                "help": ([*binary, "--help"], env),
                "version": ([*binary, "--version"], env),
            },
            repeats,
            cwd,
        )
        section.figures += [
            Figure("`ml-intern --help`", times["help"], "s", "< 0.3 s", HELP_BUDGET_S),
            Figure("`ml-intern --version`", times["version"], "s", "< 0.3 s", HELP_BUDGET_S),
            Figure("floor: `python -c pass`", times["pass"], "s"),
            Figure('floor: `python -c "import typer"`', times["typer"], "s"),
        ]
        for name in ("help", "version"):
            ratios = [t / f for t, f in zip(times[name], times["typer"], strict=False)]
            section.figures.append(Figure(f"`--{name}` / typer floor", ratios, "x", f"< {FLOOR_LIMIT:g}x"))
            section.checks.append(
                Check(
                    f'`--{name}` / `python -c "import typer"` (best of {repeats})',
                    min(ratios),
                    FLOOR_LIMIT,
                    "start-up may cost at most the CLI framework again; an eager "
                    "engine import (langgraph, litellm, httpx) multiplies it",
                )
            )

        prompts, answers, reason = interactive_prompt(sandbox, 1 if quick else 5)  # not gated: once in --quick
        section.figures.append(
            Figure("interactive: prompt ready for input", prompts, "s", "< 1 s", PROMPT_BUDGET_S, note=reason)
        )
        section.figures.append(
            Figure(
                "interactive: answer to a message typed at once",
                answers,
                "s",
                note=reason or "includes loading the engine behind the prompt",
            )
        )

        requests, wholes, reason = first_request(sandbox, 1 if quick else 5)
        section.figures.append(
            Figure(
                "first turn: process start to first request at a local OpenAI-compatible server",
                requests,
                "s",
                note=reason or "`ml-intern -m vllm/test-model PROMPT`: config, engine, database, provider client",
            )
        )
        section.figures.append(Figure("first turn: whole process, one answer", wholes, "s", note=reason))

        entry = binary[1:] if binary[0] == sys.executable else binary  # the script, run by our interpreter
        help_rows = importtime([*entry, "--help"], env, cwd)
        heavy = sorted({m.split(".")[0] for m, *_ in help_rows if m.split(".")[0] in HEAVY})
        section.checks.append(
            Check(
                "heavy packages imported by `--help`",
                len(heavy),
                1,
                f"none of {', '.join(HEAVY)} may load for --help (loaded: {heavy or 'none'})",
            )
        )
        section.notes.append(_offender_note("`import cli.main`", importtime(["-c", "import cli.main"], env, cwd)))
        if not quick:
            script = sandbox.script([answer_turn("done")])
            rows = importtime([*entry, "--model", script, "say done"], env, cwd)
            section.notes.append(_offender_note("a first headless turn (`ml-intern -m replay:... PROMPT`)", rows))
            rows = _provider_importtime(entry, env, cwd)
            if rows:
                section.notes.append(_offender_note("a first turn with a local server (`-m vllm/...`)", rows))
    return section
