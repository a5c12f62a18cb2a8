"""Entry point of the ``agentctl`` console script.

Errors are turned into one ``error:`` line and one ``hint:`` line here, at the
edge, with the documented exit code; no traceback reaches a user.
"""

from __future__ import annotations

import os
import sys

from agentctl import __version__
from agentctl.errors import AgentctlError
from agentctl.exitcodes import ExitCode


class UsageError(AgentctlError):
    """Bad flags or configuration detected by a command (exit 2)."""


def fail(message: str, hint: str = "", code: int = ExitCode.USAGE) -> int:
    sys.stderr.write(f"agentctl: error: {message}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
    return code


def _gate(args: list[str]) -> int:
    if args[:1] != ["serve"]:
        from agentctl.gate.hook import main as hook

        return hook(args)
    import argparse
    from pathlib import Path

    from agentctl.gate.server import serve

    parser = argparse.ArgumentParser(
        prog="agentctl gate serve", description="Per-run gate server (started by agentctl run)."
    )
    parser.add_argument("--socket", type=Path, required=True)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--policies", type=Path, action="append", default=[])
    parser.add_argument("--no-builtin", action="store_true")
    parser.add_argument("--run-id")
    parser.add_argument("--base-commit", help="the run's start commit: IaC is verified against it after each tool")
    parser.add_argument("--interactive", action="store_true", help="ask on /dev/tty for require_approval calls")
    parser.add_argument("--standalone", action="store_true", help="per-repository server for standalone hooks")
    parser.add_argument("--fingerprint", default="", help="policy fingerprint the standalone server serves")
    options = parser.parse_args(args[1:])
    if options.standalone:
        from agentctl.policy import default_dirs

        options.policies = options.policies or default_dirs(options.root)
    return serve(
        options.socket,
        options.root,
        options.policies,
        not options.no_builtin,
        options.run_id,
        options.interactive,
        standalone=options.fingerprint if options.standalone else None,
        base_commit=options.base_commit,
    )


def _import_quietly(*modules: str) -> None:
    """Import what a command runs with pydantic's plugin lookup off, then put the environment back.

    The lookup (for third-party hooks into validation, which agentctl's own models do not need)
    reads every installed package's metadata, about 20 ms per start. Nothing agentctl starts ever
    sees the variable: it is set only while these modules are imported.
    """
    import importlib

    previous = os.environ.get("PYDANTIC_DISABLE_PLUGINS")
    os.environ["PYDANTIC_DISABLE_PLUGINS"] = "1"
    try:
        for module in modules:
            importlib.import_module(module)
    finally:
        if previous is None:
            del os.environ["PYDANTIC_DISABLE_PLUGINS"]
        else:
            os.environ["PYDANTIC_DISABLE_PLUGINS"] = previous


CHECK_MODULES = ("agentctl.cli.app", "agentctl.cli.check", "agentctl.pipeline.check")


def _trust(args: list[str]) -> int | None:
    """``agentctl trust`` with at most ``--format``/``-f`` and ``--all-repos``, shown without the CLI framework.

    Building Typer's app costs about 0.1 s per start, as much as a warm ``trust`` spends on its
    own work. Anything else (``decide``, ``--key``, ``-h``, a root option, a typo) returns ``None``
    and goes through Typer as before, which gives the same answer for these flags.
    """
    fmt, all_repos, rest = "table", False, list(args)
    while rest:
        flag = rest.pop(0)
        if flag == "--all-repos":
            all_repos = True
        elif flag in ("--format", "-f") and rest:
            fmt = rest.pop(0)
        elif flag.startswith("--format="):
            fmt = flag.partition("=")[2]
        else:
            return None
    _import_quietly("agentctl.cli.trust", "agentctl.pipeline.trust")
    from agentctl.cli.trust import show

    return show(fmt, None, all_repos)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        # Answer before importing the CLI framework: pre-commit and CI call this often.
        sys.stdout.write(f"agentctl {__version__}\n")
        return 0
    try:
        if args[:1] == ["gate"]:
            # The hook the agents run before every tool call: stays out of the CLI framework.
            return _gate(args[1:])
        if args[:1] == ["trust"]:
            shown = _trust(args[1:])
            if shown is not None:
                return shown
        if args[:1] == ["check"]:
            _import_quietly(*CHECK_MODULES)
        from agentctl.cli.app import run_app

        return run_app(args)
    except KeyboardInterrupt:
        sys.stderr.write("agentctl: interrupted\n")
        return ExitCode.INTERRUPTED
    except AgentctlError as exc:  # every layer's own errors: one line, a hint, exit 2
        return fail(exc.message, exc.hint)
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last line of defence: never a traceback for users
        if os.environ.get("AGENTCTL_DEBUG"):
            raise
        return fail(
            f"internal error: {type(exc).__name__}: {exc}",
            "this is a bug in agentctl; rerun with AGENTCTL_DEBUG=1 for the traceback and report it",
        )
