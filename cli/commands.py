"""Subcommands: sessions, sandboxes, mcp, studio, serve, graph, doctor, example, eval."""

from __future__ import annotations

import typer

commands_app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

from cli.sessions_cmd import sessions_app  # noqa: E402

commands_app.add_typer(sessions_app, name="sessions")

from cli.runs_cmd import runs_app  # noqa: E402
from cli.sandboxes_cmd import sandboxes_app  # noqa: E402

commands_app.add_typer(runs_app, name="runs")
from cli.watch_cmd import watch_cmd  # noqa: E402

commands_app.command("watch", help=watch_cmd.__doc__)(watch_cmd)

commands_app.add_typer(sandboxes_app, name="sandboxes")


@commands_app.command("graph", help="Print the agent graph as Mermaid (--ascii: as a drawing for the terminal).")
def graph_cmd(ascii_: bool = typer.Option(False, "--ascii", help="Draw it in ASCII instead (needs grandalf).")) -> None:
    from graph.builder import build_graph
    from graph.studio import graph_ascii

    graph = build_graph().compile().get_graph()
    try:
        print(graph_ascii(graph) if ascii_ else graph.draw_mermaid())
    except ImportError:
        import sys

        print("ml-intern: --ascii needs the grandalf package: pip install grandalf", file=sys.stderr)
        raise typer.Exit(2) from None


@commands_app.command("studio", help="Serve the agent to LangGraph Studio (langgraph dev) and print its URLs.")
def studio_cmd(
    port: int = typer.Option(2024, help="Port of the local API server."),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (keep it on loopback)."),
    workspace: str = typer.Option(None, help="Folder the agent works in (default: current)."),
    model: str = typer.Option(None, "--model", "-m", help="Model id (default: the config's)."),
    approval: str = typer.Option(None, help="ask | yolo (default: ask)."),
    config: str = typer.Option(None, help="Config file."),
) -> None:
    import sys

    from cli.studio_cmd import StudioError, run_studio

    try:
        raise typer.Exit(run_studio(port, host, workspace, model, approval, config))
    except StudioError as e:
        print(f"ml-intern: {e}", file=sys.stderr)
        raise typer.Exit(e.code) from None


@commands_app.command("serve", help="Serve the web app: chat with the agent in the browser (port 7860, as a Space).")
def serve_cmd(
    host: str = typer.Option(
        "127.0.0.1", help="Interface to listen on. Without sign-in only loopback (see --allow-remote)."
    ),
    port: int = typer.Option(7860, help="Port (0: any free one)."),
    model: str = typer.Option(None, "--model", "-m", help="Model id for new sessions (default: the config's)."),
    config: str = typer.Option(None, help="Config file (on top of configs/frontend_agent_config.json)."),
    allow_remote: bool = typer.Option(
        False, "--allow-remote", help="Listen on another interface WITHOUT sign-in: anyone who reaches it acts as you."
    ),
) -> None:
    import sys

    from cli.bootstrap import UserError
    from cli.serve_cmd import run_serve

    try:
        raise typer.Exit(run_serve(host, port, model, config, allow_remote))
    except UserError as e:
        print(f"ml-intern: {e}", file=sys.stderr)
        raise typer.Exit(e.code) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


@commands_app.command("mcp", help="MCP servers from the config: `ml-intern mcp list` shows status and tools.")
def mcp_cmd(
    action: str = typer.Argument("list", help="list"), config: str = typer.Option(None, help="Config file.")
) -> None:
    import asyncio
    import sys

    from configs.loader import ConfigError, load_config

    if action != "list":
        print(f"ml-intern: unknown mcp action '{action}' (use: ml-intern mcp list)", file=sys.stderr)
        raise typer.Exit(2)
    try:
        settings = load_config(config)
    except ConfigError as e:
        print(f"ml-intern: {e}", file=sys.stderr)
        raise typer.Exit(2) from None
    if not settings.mcpServers:
        print('no MCP servers configured (add them under "mcpServers" in ~/.config/ml-intern/config.json)')
        return

    from pathlib import Path

    from tools.mcp.manager import probe
    from tools.sandbox.local import SandboxUnavailable, server_wrapper

    try:  # started as a session would start them: in the command sandbox
        wrap = server_wrapper(settings, Path.cwd)
    except SandboxUnavailable as e:
        print(f"ml-intern: {e}", file=sys.stderr)
        raise typer.Exit(2) from None
    failed = False
    for status in asyncio.run(probe(settings.mcpServers, wrap=wrap)):
        failed |= status.state != "running"
        line = f"{status.name:<20} {status.transport:<16} {status.state}"
        if status.error:
            line += f"  {status.error}"
        print(line)
        for tool in status.tools or []:
            print(f"    {tool}")
    raise typer.Exit(1 if failed else 0)


@commands_app.command(
    "doctor", help="Check the set-up: Python, packages, keys, database, MCP, local servers, workspace."
)
def doctor_cmd(
    workspace: str = typer.Option(".", help="Workspace folder to check."),
    config: str = typer.Option(None, help="Config file."),
    offline: bool = typer.Option(False, "--offline", help="Skip checks that need the network."),
) -> None:
    from pathlib import Path

    from cli.doctor_cmd import run_doctor

    raise typer.Exit(run_doctor(Path(workspace).resolve(), config, online=not offline))


@commands_app.command("example", help="Replay a recorded example session into a fresh workspace (no key needed).")
def example_cmd(
    name: str = typer.Argument(None, help="Example name; omit to list them."),
    workspace: str = typer.Option(None, help="Folder to run it in (default: ./ml-intern-examples/...)."),
    model: str = typer.Option(
        None, "--model", "-m", help="Give the task to this model instead of replaying the recording."
    ),
) -> None:
    import sys

    from cli.bootstrap import UserError
    from cli.example_cmd import describe, run_example

    if not name:
        print(describe())
        return
    try:
        raise typer.Exit(run_example(name, workspace, model))
    except UserError as e:
        print(f"ml-intern: {e}", file=sys.stderr)
        raise typer.Exit(e.code) from None


@commands_app.command("eval", help="Run the ML-engineering task suite (eval/tasks) and check each outcome.")
def eval_cmd(
    model: str = typer.Option(
        None, "--model", "-m", help="Model id (default: the config's); replay:DIR plays DIR/<task>.jsonl."
    ),
    tasks: list[str] = typer.Option(None, "--tasks", help="Task names (comma-separated or repeated); default all."),
    repeat: int = typer.Option(1, "--repeat", help="Runs of each task."),
    json_: bool = typer.Option(False, "--json", help="Print the raw results as JSON instead of the table."),
    tools: str = typer.Option(None, "--tools", help="Tool profile for the agent (see ml-intern --help)."),
    config: str = typer.Option(None, help="Config file for the agent."),
    keep: str = typer.Option(
        None,
        "--keep",
        help="Copy each run's workspace (TASK-N) and its ml-intern home (TASK-N.home: the session) into this folder.",
    ),
    timeout_s: float = typer.Option(None, "--timeout-s", help="Wall-time budget of each run (default: the task's)."),
    list_: bool = typer.Option(False, "--list", help="List the tasks and exit."),
) -> None:
    import sys

    from cli.bootstrap import UserError
    from cli.eval_cmd import load_tasks, run_eval

    if list_:
        for name, task in load_tasks().items():
            print(f"{name:<18} {task.title}: {task.prompt[:90]}")
        return
    extra = [*(["--tools", tools] if tools else []), *(["--config", config] if config else [])]
    try:
        raise typer.Exit(run_eval(model, tasks or [], repeat, json_, extra, keep, timeout_s))
    except UserError as e:
        print(f"ml-intern: {e}", file=sys.stderr)
        raise typer.Exit(e.code) from None
