"""The `ml-intern` entry point. Kept light: `--help` and `--version` import nothing heavy.

`ml-intern [OPTIONS] PROMPT` runs headless; with no prompt on a terminal it opens the interactive chat;
`ml-intern sessions|mcp|studio|serve|graph|doctor ...` are subcommands. Options may come before a
subcommand when it takes them (`ml-intern --config F doctor`); otherwise the line is refused, never
read as a prompt: `ml-intern [OPTIONS] -- doctor` sends the word itself.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cli import exit_codes

SUBCOMMANDS = {
    "sessions": "list, show, export, push, delete or undo stored sessions",
    "sandboxes": "list or delete the sandbox Spaces this machine created",
    "runs": "the runs the agent started: list, show, compare, reproduce",
    "watch": "wait for a session's jobs and continue the session when they end",
    "mcp": "MCP servers from the config: status and tools",
    "studio": "serve the agent to LangGraph Studio",
    "serve": "the web app: chat in the browser (a Hugging Face Space)",
    "graph": "print the agent graph as Mermaid",
    "doctor": "check the set-up",
    "example": "replay a recorded example session (no key needed)",
    "eval": "run the ML task suite and check the outcomes (--model ID)",
}
_EPILOG = (
    "\b\nSubcommands (ml-intern COMMAND --help for their options):\n"
    + "\n".join(f"  {name:<9} {what}" for name, what in SUBCOMMANDS.items())
    + "\n\nA prompt that is a subcommand's name: ml-intern [OPTIONS] -- doctor"
)

app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from core.version import package_version

        print(f"ml-intern {package_version()}")
        raise typer.Exit()


@app.command(
    help="Run the ML intern. With PROMPT it runs headless; without, it opens an interactive chat.", epilog=_EPILOG
)
def run(
    prompt: Annotated[str | None, typer.Argument(help="The task. Omit it for an interactive session.")] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Model id, e.g. anthropic/claude-sonnet-4-5, "
            "openai/gpt-5, huggingface/..., ollama/llama3.1, replay:FILE.",
        ),
    ] = None,
    max_iterations: Annotated[int | None, typer.Option(help="Model calls allowed per turn (default 300).")] = None,
    max_budget_usd: Annotated[
        float | None,
        typer.Option(help="Dollar budget for the session (models, HF Jobs, sandboxes); exit code 5 when reached."),
    ] = None,
    no_stream: Annotated[bool, typer.Option("--no-stream", help="Print whole messages instead of streaming.")] = False,
    output_format: Annotated[str, typer.Option(help="text | json | stream-json")] = "text",
    approval: Annotated[str | None, typer.Option(help="ask | yolo (headless default: yolo).")] = None,
    yolo: Annotated[bool, typer.Option("--yolo", help="Same as --approval yolo.")] = False,
    workspace: Annotated[str | None, typer.Option(help="Folder the agent works in (default: current).")] = None,
    resume: Annotated[str | None, typer.Option(help="Resume session ID.")] = None,
    continue_: Annotated[bool, typer.Option("--continue", help="Resume the most recent session.")] = False,
    config: Annotated[str | None, typer.Option(help="Config file (default ~/.config/ml-intern/config.json).")] = None,
    env_file: Annotated[
        str | None,
        typer.Option(
            "--env-file",
            help="Read variables (keys) from this file instead of ~/.config/ml-intern/.env; "
            "a .env in the working folder is never read. Works before any subcommand too.",
        ),
    ] = None,
    approve: Annotated[
        list[str] | None, typer.Option(help="Approve pending call ID, or 'all' (with --resume).")
    ] = None,
    reject: Annotated[list[str] | None, typer.Option(help="Reject pending CALL_ID[=feedback] (with --resume).")] = None,
    tools: Annotated[
        str | None,
        typer.Option(
            "--tools",
            help="Tools offered: auto (core under a 16k-token window), full, core, core,NAME,... or NAME,...",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    from cli.bootstrap import RunOptions
    from cli.headless import run_headless

    if output_format not in {"text", "json", "stream-json"}:
        _usage(f"--output-format must be text, json or stream-json (got '{output_format}')")
    if approval not in {None, "ask", "yolo"}:
        _usage(f"--approval must be ask or yolo (got '{approval}')")
    if resume and continue_:
        _usage("use either --resume ID or --continue, not both")
    if (approve or reject) and not (resume or continue_):
        _usage("--approve/--reject answer a session waiting for approval: add --resume ID")
    options = RunOptions(
        prompt=prompt,
        model=model,
        max_iterations=max_iterations,
        max_budget_usd=max_budget_usd,
        stream=not no_stream,
        output_format=output_format,
        approval="yolo" if yolo else approval,
        workspace=workspace,
        resume=resume,
        continue_last=continue_,
        config=config,
        approve=approve or [],
        reject=reject or [],
        tools=tools,
    )
    if prompt is None and sys.stdin.isatty() and output_format == "text" and not (approve or reject):
        from cli.interactive import run_interactive

        raise typer.Exit(run_interactive(options))
    if prompt is not None:
        options.prompt = _utf8_prompt(prompt.encode("utf-8", "surrogateescape"), "the prompt argument")
    elif not (resume or continue_):
        piped = _utf8_prompt(sys.stdin.buffer.read(), "the prompt on stdin") if not sys.stdin.isatty() else ""
        if not piped.strip():
            _usage("no prompt given: pass PROMPT, pipe it on stdin, or run in a terminal for a chat")
        options.prompt = piped.strip()
    raise typer.Exit(run_headless(options))


def _utf8_prompt(data: bytes, where: str) -> str:
    """The prompt as text; bytes that are not UTF-8 are refused in one line, never guessed or dropped."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        _usage(
            f"{where} is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}): convert it, "
            "e.g. iconv -f latin1 -t utf-8, and send it again"
        )
        raise  # not reached: _usage exits


def _usage(message: str) -> None:
    print(f"ml-intern: {message}", file=sys.stderr)
    raise typer.Exit(exit_codes.USAGE)


def _take_env_file(argv: list[str]) -> tuple[list[str], str | None]:
    """Remove `--env-file PATH` / `--env-file=PATH` (before any `--`): a global option, read before keys are."""
    rest, env_file, i = [], None, 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i:]
            break
        if arg == "--env-file":
            if i + 1 >= len(argv):
                _fail("--env-file needs a path: --env-file PATH")
            env_file, i = argv[i + 1], i + 2
            continue
        if arg.startswith("--env-file="):
            env_file = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        i += 1
    return rest, env_file


def _fail(message: str) -> None:
    print(f"ml-intern: {message}", file=sys.stderr)
    raise SystemExit(exit_codes.USAGE)


def secure_start(argv: list[str]) -> list[str]:
    """Before anything reads a key: load the env file, take the keys out of the environment and hide
    the process (core.credentials). `--help`/`--version` only print, so they skip the prctl."""
    from configs.environment import ConfigError
    from core import credentials

    argv, env_file = _take_env_file(argv)
    only_prints = any(a in ("-h", "--help", "--version") for a in argv)
    try:
        credentials.start(env_file, inspectable=only_prints)
    except ConfigError as e:
        _fail(str(e))
    return argv


def _never_fail_on_encoding() -> None:
    """Whatever the text (a lone surrogate from a model, a terminal that is not UTF-8), writing it to
    stdout or stderr must not raise: what cannot be encoded is written as a backslash escape."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a closed or detached stream
                pass


def _option_names(command) -> tuple[set[str], set[str]]:
    """(options that take a value, all option names) of a (typer's) click command."""
    valued, names = set(), set()
    for param in command.params:
        if param.param_type_name == "option":
            opts = {*param.opts, *param.secondary_opts}
            names |= opts
            if not (param.is_flag or param.count):
                valued |= opts
    return valued, names


def _leading_options(argv: list[str]) -> tuple[list[str], list[str], int]:
    """How the run command reads argv up to its first positional: (option names, all their tokens, the
    positional's index, or len(argv) when there is none; a '--' counts as a positional)."""
    valued, _ = _option_names(typer.main.get_command(app))
    names: list[str] = []
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] not in ("-", "--"):
        name = argv[i].split("=", 1)[0]
        names.append(name)
        i += 2 if name in valued and "=" not in argv[i] else 1
    return names, argv[:i], i


def _subcommand_argv(argv: list[str]) -> list[str] | None:
    """argv for the subcommands app when argv names one (its options moved after its name), else None."""
    if not SUBCOMMANDS.keys() & set(argv):
        return None
    names, leading, i = _leading_options(argv)
    if i >= len(argv) or argv[i] not in SUBCOMMANDS or {"-h", "--help", "--version"} & set(names):
        return None
    sub = argv[i]
    if leading:
        from cli.commands import commands_app

        _, accepted = _option_names(typer.main.get_command(commands_app).commands[sub])
        refused = [n for n in names if n not in accepted]
        if refused:
            _usage(
                f"'{sub}' is a subcommand and does not take {', '.join(refused)}: write ml-intern {sub} [OPTIONS]; "
                f"to send '{sub}' as the prompt, write ml-intern [OPTIONS] -- {sub}"
            )
    return [sub, *leading, *argv[i + 1 :]]


def main(argv: list[str] | None = None) -> None:
    """The console script: secure the process, then run the command."""
    _never_fail_on_encoding()
    dispatch(secure_start(list(sys.argv[1:] if argv is None else argv)))


def dispatch(argv: list[str]) -> None:
    """Run a command line in an already secured process (tests call this in-process)."""
    try:
        routed = _subcommand_argv(argv)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    if routed is not None:
        from cli.commands import commands_app

        commands_app(args=routed, prog_name="ml-intern")
        return
    app(args=argv, prog_name="ml-intern")


if __name__ == "__main__":
    main()
