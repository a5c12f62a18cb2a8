"""The ``runs`` and ``store`` command groups: browsing and moving recorded runs, and the store itself."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

runs_app = typer.Typer(help="Browse recorded agent runs.", no_args_is_help=True)
store_app = typer.Typer(help="The run store: its backend, schema version and migration.", no_args_is_help=True)


@runs_app.command("list", help="Recorded runs, newest first.")
def runs_list_command(
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many runs.")] = 50,
    json_output: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
    all_repos: Annotated[
        bool, typer.Option("--all-repos", help="Runs of every repository in a shared store, not only this one's.")
    ] = False,
) -> None:
    from agentctl.cli.run import runs_list

    raise typer.Exit(runs_list(limit, json_output, all_repos))


@runs_app.command(
    "verdict",
    help="The run's gate now: exit 0 passed (or approved by a human), 1 blocked (or its record failed "
    "verification), 3 still waiting for approval.",
)
def runs_verdict_command(
    run_id: Annotated[str, typer.Argument(metavar="ID")],
    all_repos: Annotated[
        bool, typer.Option("--all-repos", help="Find the run among every repository's in a shared store.")
    ] = False,
) -> None:
    from agentctl.cli.run import runs_verdict

    raise typer.Exit(runs_verdict(run_id, all_repos))


@runs_app.command("show", help="One run as a tree of turns and tool calls (an id prefix is enough).")
def runs_show_command(
    run_id: Annotated[str, typer.Argument(metavar="ID")],
    json_output: Annotated[bool, typer.Option("--json", help="The run and all its events as JSON.")] = False,
) -> None:
    from agentctl.cli.run import runs_show

    raise typer.Exit(runs_show(run_id, json_output))


@runs_app.command("export", help="Runs as a JSON Lines bundle (this repository's; --all-repos: every one).")
def runs_export_command(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    all_repos: Annotated[bool, typer.Option("--all-repos", help="Runs of every repository in the store.")] = False,
) -> None:
    from agentctl.cli.store import export

    raise typer.Exit(export(output, all_repos))


@runs_app.command(
    "import",
    help="Add the runs of a bundle (agentctl runs export) or of a spool file (.agentctl/spool/*.db, left by a run "
    "whose server store could not be reached) to the store; importing one twice adds nothing.",
)
def runs_import_command(bundle: Annotated[Path, typer.Argument(metavar="FILE")]) -> None:
    from agentctl.cli.store import import_bundle

    raise typer.Exit(import_bundle(bundle))


@store_app.command("status", help="Backend, location (credentials redacted), schema version and run count.")
def store_status_command(
    json_output: Annotated[bool, typer.Option("--json", help="JSON instead of text.")] = False,
) -> None:
    from agentctl.cli.store import status

    raise typer.Exit(status(json_output))


@store_app.command("migrate", help="Create the store or bring its schema to this version (no row is lost).")
def store_migrate_command() -> None:
    from agentctl.cli.store import migrate

    raise typer.Exit(migrate())


@store_app.command(
    "sync", help="Import every run spooled in .agentctl/spool/ (server unreachable) into the store, then remove them."
)
def store_sync_command() -> None:
    from agentctl.cli.store import sync

    raise typer.Exit(sync())
