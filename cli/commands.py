"""Subcommands: sessions, mcp, studio, graph, doctor."""

from __future__ import annotations

import typer

commands_app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False,
                           no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]})

from cli.sessions_cmd import sessions_app  # noqa: E402

commands_app.add_typer(sessions_app, name="sessions")


@commands_app.command("graph", help="Print the agent graph as Mermaid.")
def graph_cmd() -> None:
    from graph.studio import studio_graph

    print(studio_graph().get_graph().draw_mermaid())


@commands_app.command("mcp", help="MCP servers from the config: `ml-intern mcp list` shows status and tools.")
def mcp_cmd(action: str = typer.Argument("list", help="list"),
            config: str = typer.Option(None, help="Config file.")) -> None:
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
        raise typer.Exit(2)
    if not settings.mcpServers:
        print("no MCP servers configured (add them under \"mcpServers\" in ~/.config/ml-intern/config.json)")
        return

    async def go():
        from tools.mcp.manager import McpManager

        manager = McpManager(settings.mcpServers, startup_timeout=20)
        try:
            await manager.ensure_started()
            return manager.status()
        finally:
            await manager.aclose()

    failed = False
    for status in asyncio.run(go()):
        failed |= status.state != "running"
        line = f"{status.name:<20} {status.transport:<16} {status.state}"
        if status.error:
            line += f"  {status.error}"
        print(line)
        for tool in status.tools or []:
            print(f"    {tool}")
    raise typer.Exit(1 if failed else 0)
