"""The Typer application: one function per command, each only wiring."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agentctl import __version__
from agentctl.cli.groups import runs_app, store_app
from agentctl.exitcodes import ExitCode

app = typer.Typer(
    name="agentctl",
    help="The control plane for AI coding agents: policy checks for Terraform and Kubernetes, "
    "budgets and a policy gateway for Claude Code and Codex.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"agentctl {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", "-V", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            metavar="PATH|URL",
            help="The run store (a path, sqlite:///… or postgresql://…); overrides AGENTCTL_STORE.",
        ),
    ] = None,
) -> None:
    """agentctl: the model proposes, the platform decides."""
    if store:
        import os

        os.environ["AGENTCTL_STORE"] = store  # inherited by everything agentctl starts, like the variable


@app.command(
    "check",
    help="Check Terraform and Kubernetes files (or only what a git diff changed) against policy files.\n\n"
    "Exit codes: 0 passed, 1 blocked, 2 usage/config error, 3 approval required.",
)
def check_command(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or directories (default: current directory).")
    ] = None,
    diff: Annotated[
        str | None,
        typer.Option(
            "--diff", metavar="BASE[..HEAD]", help="Judge only what changed since BASE (BASE..HEAD, BASE...HEAD)."
        ),
    ] = None,
    staged: Annotated[
        bool, typer.Option("--staged", help="Judge the staged changes against HEAD (pre-commit).")
    ] = False,
    include_all: Annotated[
        bool, typer.Option("--all", help="In diff mode, also list findings BASE already had (never blocking).")
    ] = False,
    policies: Annotated[
        list[Path] | None,
        typer.Option(
            "--policies", metavar="DIR", help="Policy directory (repeatable; default ./policies when present)."
        ),
    ] = None,
    no_builtin: Annotated[bool, typer.Option("--no-builtin", help="Leave out the built-in rule pack.")] = False,
    formats: Annotated[
        list[str] | None,
        typer.Option(
            "--format",
            "-f",
            metavar="NAME[=FILE]",
            help="table, json, sarif, junit, github, gitlab, markdown; =FILE writes to a file (repeatable).",
        ),
    ] = None,
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on", metavar="SEVERITY", help="info|low|medium|high|critical: warn findings at or above block."
        ),
    ] = "high",
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the parse cache.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary line on stderr.")] = False,
) -> None:
    from agentctl.cli.check import CheckArgs, check

    code = check(
        CheckArgs(
            paths=paths or [],
            diff=diff,
            staged=staged,
            include_all=include_all,
            policies=policies,
            builtin=not no_builtin,
            formats=formats or [],
            fail_on=fail_on,
            cache=not no_cache,
            quiet=quiet,
        )
    )
    raise typer.Exit(code)


@app.command("rules", help="List the rules a check would apply: the built-in pack, ./policies and the engine's own.")
def rules_command(
    policies: Annotated[
        list[Path] | None,
        typer.Option(
            "--policies", metavar="DIR", help="Policy directory (repeatable; default ./policies when present)."
        ),
    ] = None,
    no_builtin: Annotated[bool, typer.Option("--no-builtin", help="Leave out the built-in rule pack.")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", metavar="NAME", help="table, json or markdown.")] = "table",
) -> None:
    from agentctl.cli.check import list_rules

    raise typer.Exit(list_rules(policies, not no_builtin, fmt))


@app.command(
    "init",
    help="Scaffold policies/ and .gitignore, and print (or --write) pre-commit, GitHub and GitLab snippets. "
    "Idempotent; never overwrites your files without --force.",
)
def init_command(
    path: Annotated[Path, typer.Argument(help="Repository to set up (default: current directory).")] = Path("."),
    write: Annotated[
        bool, typer.Option("--write", help="Write the CI snippets as files instead of printing them.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that differ from the templates.")] = False,
) -> None:
    from agentctl.cli.init import init

    raise typer.Exit(init(path, write=write, force=force))


@app.command(
    "gate",
    help="The PreToolUse hook Claude Code and Codex call before each tool use (agentctl run wires it up). "
    "Reads the hook payload on stdin and denies calls that policy forbids; fails closed.",
)
def gate_command(
    agent: Annotated[str, typer.Option("--agent", help="claude or codex.")] = "claude",
    deadline: Annotated[
        float | None,
        typer.Option(
            "--deadline",
            help="Seconds to decide in before denying (default 5, or AGENTCTL_GATE_DEADLINE); "
            "keep it below the agent's hook timeout.",
        ),
    ] = None,
) -> None:
    from agentctl.gate.hook import main as hook

    raise typer.Exit(hook(["--agent", agent] + (["--deadline", str(deadline)] if deadline is not None else [])))


@app.command("approve", help="Record a human approval (who, when, why) for a run whose changes need one.")
def approve_command(
    run_id: Annotated[str, typer.Argument(metavar="ID", help="The run (an id prefix is enough).")],
    reason: Annotated[str, typer.Option("--reason", help="Why this is acceptable (required).")],
    deny: Annotated[
        bool, typer.Option("--deny", help="Record a refusal instead (it demotes the agent's trust).")
    ] = False,
    finding: Annotated[
        list[str] | None,
        typer.Option(
            "--finding",
            metavar="RULE[:PATH[:LINE]]",
            help="Approve only this finding (repeatable; default: every finding of the run that needs approval).",
        ),
    ] = None,
) -> None:
    import json
    import sys

    from agentctl.pipeline.trust import approve

    record = approve(Path.cwd(), run_id, reason, deny, finding or [])
    sys.stdout.write(json.dumps(record) + "\n")
    what = ", ".join(record["findings"]) or "the run"
    sys.stderr.write(f"{record['decision']}d {what} of run {record['run_id']} as {record['approver']}\n")
    raise typer.Exit(0)


trust_app = typer.Typer(help="Trust evidence per agent and path scope, from run history.", invoke_without_command=True)
app.add_typer(trust_app, name="trust")


@trust_app.callback()
def trust_command(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json, markdown or intoto.")] = "table",
    key: Annotated[
        Path | None, typer.Option("--key", help="Ed25519 private key (PEM) to sign --format intoto.")
    ] = None,
    all_repos: Annotated[
        bool, typer.Option("--all-repos", help="Runs of every repository in a shared store, not only this one's.")
    ] = False,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from agentctl.cli.trust import show

    raise typer.Exit(show(fmt, key, all_repos))


@trust_app.command("decide", help="Exit 0 if the agent may act alone on these paths (autonomous), 3 otherwise.")
def trust_decide_command(
    agent: Annotated[str, typer.Option("--agent", help="claude or codex.")],
    paths: Annotated[list[str], typer.Option("--paths", help="Paths the change touches (repeatable).")],
) -> None:
    from agentctl.cli.trust import decide

    raise typer.Exit(decide(agent, paths))


@app.command("score", help="Agentic-engineering maturity level (1-5) of a repository, from evidence only.")
def score_command(
    path: Annotated[Path, typer.Argument(help="Repository (default: current directory).")] = Path("."),
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json, markdown or intoto.")] = "table",
    key: Annotated[
        Path | None, typer.Option("--key", help="Ed25519 private key (PEM) to sign --format intoto.")
    ] = None,
    deploy_tags: Annotated[str, typer.Option("--deploy-tags", help="Tag pattern marking deployments (DORA).")] = "v*",
    window: Annotated[int, typer.Option("--window-days", help="DORA window, ending at HEAD's commit.")] = 90,
    failure_days: Annotated[
        int, typer.Option("--failure-days", help="A revert/hotfix within N days fails a deployment.")
    ] = 7,
    all_repos: Annotated[
        bool, typer.Option("--all-repos", help="Runs of every repository in a shared store, not only this one's.")
    ] = False,
) -> None:
    from agentctl.cli.trust import show_score

    raise typer.Exit(show_score(path, fmt, key, deploy_tags, window, failure_days, all_repos))


@app.command("verify", help="Verify a signed in-toto statement (--format intoto) against a public key and the commit.")
def verify_command(
    statement: Annotated[Path, typer.Argument(metavar="FILE")],
    key: Annotated[Path, typer.Option("--key", help="Ed25519 public key (PEM).")],
    commit: Annotated[str | None, typer.Option("--commit", help="Expected subject commit (default: HEAD).")] = None,
) -> None:
    from agentctl.cli.trust import verify

    raise typer.Exit(verify(statement, key, commit))


app.add_typer(runs_app, name="runs")
app.add_typer(store_app, name="store")


@app.command(
    "run",
    help="Run Claude Code (claude -p …) or Codex (codex exec …) under budgets and circuit breakers, record "
    "every turn and tool call, then check the diff it left.\n\n"
    "Exit codes: 0 passed, 1 blocked, 2 usage error, 3 approval required, 4 agent failed, "
    "5 budget exhausted, 6 breaker tripped, 130 interrupted.",
    context_settings={"allow_interspersed_args": False},
)
def run_command(
    argv: Annotated[list[str], typer.Argument(metavar="-- AGENT ARGS...", help="The agent command line.")],
    agent: Annotated[str | None, typer.Option("--agent", help="claude or codex (default: from the command).")] = None,
    max_usd: Annotated[
        float | None, typer.Option("--max-usd", help="Stop when the estimated cost passes this.")
    ] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", help="Stop past this many tokens.")] = None,
    max_turns: Annotated[int | None, typer.Option("--max-turns", help="Stop past this many model turns.")] = None,
    max_tool_calls: Annotated[
        int | None, typer.Option("--max-tool-calls", help="Stop past this many tool calls.")
    ] = None,
    timeout: Annotated[str | None, typer.Option("--timeout", help="Wall-clock limit, e.g. 20m.")] = None,
    idle_timeout: Annotated[
        str | None, typer.Option("--idle-timeout", help="Stop after this long without an event.")
    ] = None,
    max_repeats: Annotated[int, typer.Option("--max-repeats", help="Breaker: the same tool call this many times.")] = 5,
    max_errors: Annotated[
        int, typer.Option("--max-errors", help="Breaker: this many consecutive failed tool calls or API retries.")
    ] = 5,
    price: Annotated[
        list[str] | None, typer.Option("--price", metavar="MODEL=IN,OUT", help="USD per million tokens (repeatable).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print a machine-readable summary on stdout.")] = False,
    no_check: Annotated[bool, typer.Option("--no-check", help="Skip the post-run check of the diff.")] = False,
    fail_on: Annotated[str, typer.Option("--fail-on", help="Severity at which post-run findings block.")] = "high",
    policies: Annotated[
        list[Path] | None, typer.Option("--policies", metavar="DIR", help="Policy directories.")
    ] = None,
    grace: Annotated[float, typer.Option("--grace", help="Seconds between SIGINT, SIGTERM and SIGKILL.")] = 5.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines or summary.")] = False,
    no_gate: Annotated[
        bool,
        typer.Option(
            "--no-gate", help="Do not gate tool calls by policy (budgets and the post-run check still apply)."
        ),
    ] = False,
    sandbox: Annotated[
        str,
        typer.Option(
            "--sandbox",
            metavar="auto|bwrap|off",
            help="Where the agent runs: auto (bubblewrap on Linux), bwrap, or off. The sandbox keeps the "
            "protected set (policies, .agentctl/, agentctl.yaml, agentctl itself, agent settings and hooks, "
            ".git/hooks, .git/config, CI files) read-only and hides credentials; if it cannot be built the run "
            "exits 2. off is recorded and never counts as clean trust evidence.",
        ),
    ] = "auto",
    allow_credentials: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-credentials",
            metavar="KIND,...",
            help="Let the agent see these credentials (aws, azure, docker, gcloud, github, kube, netrc, ssh, "
            "vault; files and environment variables). Recorded in the run.",
        ),
    ] = None,
    no_gateway: Annotated[
        bool,
        typer.Option(
            "--no-gateway",
            help="Let the agent talk to its model API directly: usage and cost then come from the agent's own "
            "events (later, less exact), and budgets act only after the fact.",
        ),
    ] = False,
    upstream: Annotated[
        str | None,
        typer.Option(
            "--upstream",
            metavar="URL",
            help="Model API the gateway forwards to (default: the agent's configured base URL, else the "
            "provider's public API).",
        ),
    ] = None,
) -> None:
    from agentctl.cli.run import RunArgs, run

    code = run(
        RunArgs(
            argv=argv,
            agent=agent,
            max_usd=max_usd,
            max_tokens=max_tokens,
            max_turns=max_turns,
            max_tool_calls=max_tool_calls,
            timeout=timeout,
            idle_timeout=idle_timeout,
            max_repeats=max_repeats,
            max_errors=max_errors,
            prices=price or [],
            json_output=json_output,
            check=not no_check,
            fail_on=fail_on,
            policies=policies or [],
            grace=grace,
            quiet=quiet,
            gate=not no_gate,
            sandbox=sandbox,
            allow_credentials=allow_credentials or [],
            gateway=not no_gateway,
            upstream=upstream,
        )
    )
    raise typer.Exit(code)


@app.command(
    "export",
    help="Send recorded runs as OTLP traces (GenAI semantic conventions) to the collector in OTEL_EXPORTER_OTLP_*.",
)
def export_command(
    run_ids: Annotated[
        list[str] | None, typer.Argument(metavar="[ID...]", help="Runs to export (id prefixes).")
    ] = None,
    pending: Annotated[bool, typer.Option("--pending", help="Every run not delivered yet.")] = False,
    capture_content: Annotated[
        bool,
        typer.Option("--capture-content", help="Include tool arguments/results and messages (truncated, redacted)."),
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable result.")] = False,
) -> None:
    from agentctl.cli.run import export

    raise typer.Exit(export(run_ids or [], pending, capture_content, json_output))


def run_app(args: list[str]) -> int:
    """Run the app without Typer's own exit handling, so exit codes stay ours.

    Typer vendors its own copy of click, so its exception classes are matched by
    behaviour (``show()``/``exit_code``) rather than imported from a private module.
    """
    from agentctl.cli.helpfmt import readable_placeholders
    from agentctl.cli.narrow import narrowed

    readable_placeholders()
    try:
        result = narrowed(app, args)(args=args, prog_name="agentctl", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        return ExitCode.INTERRUPTED
    except Exception as exc:
        show = getattr(exc, "show", None)
        if show is None or not hasattr(exc, "exit_code"):
            raise
        show()
        return ExitCode.USAGE
    if type(result).__name__ == "Abort" or isinstance(result, BaseException):
        return ExitCode.INTERRUPTED
    return int(result) if isinstance(result, int) else ExitCode.PASSED
