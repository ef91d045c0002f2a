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
