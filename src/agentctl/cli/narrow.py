"""Start only the command being run: Typer otherwise builds every command's parameters on each start."""

from __future__ import annotations

import copy

import typer


def narrowed(app: typer.Typer, args: list[str]) -> typer.Typer:
    """``app`` with only the command (or command group) ``args`` start with, named exactly.

    Typer reads every command's type hints and builds its converters before it dispatches;
    ``agentctl check`` needs only its own. Anything else (an option first, ``-h``, a typo)
    gets the whole app, so help and "no such command" stay as they are.
    """
    name = args[0] if args else ""
    commands = [c for c in app.registered_commands if c.name == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if len(commands) + len(groups) != 1:
        return app
    only = copy.copy(app)
    only.registered_commands, only.registered_groups = commands, groups
    return only
