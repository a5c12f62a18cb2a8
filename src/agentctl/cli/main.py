"""Entry point of the ``agentctl`` console script.

Errors are turned into one ``error:`` line and one ``hint:`` line here, at the
edge, with the documented exit code; no traceback reaches a user.
"""

from __future__ import annotations

import sys

from agentctl import __version__
from agentctl.cli.exitcodes import ExitCode


class UsageError(Exception):
    """Bad flags or configuration detected by a command (exit 2)."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def fail(message: str, hint: str = "", code: int = ExitCode.USAGE) -> int:
    sys.stderr.write(f"agentctl: error: {message}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
    return code


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        # Answer before importing the CLI framework: pre-commit and CI call this often.
        sys.stdout.write(f"agentctl {__version__}\n")
        return 0
    try:
        from agentctl.cli.app import run_app

        return run_app(args)
    except KeyboardInterrupt:
        sys.stderr.write("agentctl: interrupted\n")
        return ExitCode.INTERRUPTED
    except UsageError as exc:
        return fail(exc.message, exc.hint)
    except BrokenPipeError:
        return 0
