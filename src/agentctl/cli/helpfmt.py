"""Help placeholders a user can read: ``--reason TEXT`` and a bare ``--staged``.

Recent Typer versions print the Python annotation as the placeholder (``--staged <bool>``,
``paths... <list[Path]>``). Flags take no value, so they get none; an argument's name
column already says what it is; an option without a metavar shows click's type name in
capitals, as click itself does.
"""

from __future__ import annotations

from typing import Any

_NAMES = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "Path": "PATH", "bool": "BOOLEAN"}


def readable_placeholders() -> None:
    try:
        from typer import core
    except ImportError:  # pragma: no cover - typer is a dependency
        return
    option = getattr(core, "TyperOption", None)
    argument = getattr(core, "TyperArgument", None)
    if option is None or argument is None or not hasattr(option, "display_type_rich"):
        return  # an older Typer that prints click's own placeholders

    def option_placeholder(self: Any, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None
        if self.metavar is not None:
            return str(self.metavar)
        try:
            python_type = str(self.bare_type())
        except Exception:  # a Typer whose internals moved: a generic placeholder beats a crash
            python_type = "value"
        name = _NAMES.get(python_type, python_type.upper())
        return f"{name}..." if self.nargs != 1 else name

    def argument_placeholder(self: Any, ctx: Any) -> str | None:
        return None

    option.display_type_rich = option_placeholder
    argument.display_type_rich = argument_placeholder
