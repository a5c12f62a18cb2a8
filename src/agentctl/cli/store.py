"""``agentctl store status|migrate``: which store this repository uses, and its schema."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agentctl.exitcodes import ExitCode


def _target() -> tuple[Path, str | None]:
    from agentctl.pipeline.run import git_state
    from agentctl.store.sqlite import configured_url, default_path

    root, _ = git_state(Path.cwd())
    return default_path(root or Path.cwd()), configured_url()


def status(json_output: bool) -> int:
    from agentctl.store import sqlite

    path, url = _target()
    info: dict[str, Any] = {"backend": "postgresql" if url else "sqlite", "current_version": int(sqlite.SCHEMA_VERSION)}
    if url is None and not path.exists():
        info.update(location=str(path), exists=False, version=None, runs=0)
    else:
        store = sqlite.Store(path, url, auto_migrate=False)
        version = store.schema_version()
        runs = store.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] if version is not None else 0
        info.update(location=store.location, exists=version is not None, version=version, runs=int(runs))
        store.close()
    if json_output:
        sys.stdout.write(json.dumps(info, indent=2) + "\n")
        return int(ExitCode.PASSED)
    state = (
        "no store yet (agentctl run or agentctl store migrate creates it)"
        if not info["exists"]
        else f"schema version {info['version']}"
        + (" (current)" if info["version"] == info["current_version"] else " (run: agentctl store migrate)")
    )
    sys.stdout.write(f"{info['backend']}  {info['location']}\n  {state}\n  {info['runs']} runs\n")
    return int(ExitCode.PASSED)


def migrate() -> int:
    from agentctl.store import sqlite

    path, url = _target()
    store = sqlite.Store(path, url, auto_migrate=False)
    before, after = store.migrate()
    store.close()
    if before == after:
        sys.stdout.write(f"{store.location}: schema version {after}, already current\n")
    else:
        sys.stdout.write(f"{store.location}: schema version {before or 'none'} -> {after}\n")
    return int(ExitCode.PASSED)


def export(output: Path | None, all_repos: bool) -> int:
    from agentctl.store import bundle, sqlite

    path, url = _target()
    store = sqlite.Store(path, url)
    repo = None if all_repos else sqlite.current_repo(Path.cwd())
    count = 0
    try:
        sink = output.open("w", encoding="utf-8") if output else sys.stdout
        try:
            for line in bundle.export_lines(store, repo):
                count += 1
                sink.write(line + "\n")
        finally:
            if output:
                sink.close()
    finally:
        store.close()
    sys.stderr.write(f"exported {count - 1} records (runs, events, approvals) from {store.location}\n")
    return int(ExitCode.PASSED)


def import_bundle(source: Path) -> int:
    """A JSON Lines bundle, or a SQLite store file (a run spooled while the server could not be reached)."""
    from agentctl.cli.main import UsageError
    from agentctl.store import bundle, bundle_lines, sqlite

    if not source.is_file():
        raise UsageError(f"no bundle at {source}", "give a file written by agentctl runs export")
    path, url = _target()
    local = _local_store(source)
    if local is not None and url is None and local.path.resolve() == path.resolve():
        local.close()
        raise UsageError(f"{source} is the store itself", "set AGENTCTL_STORE (or --store) to the store to import into")
    store = sqlite.Store(path, url)
    try:
        if local is None:
            with source.open("rb") as handle:
                counts = bundle.import_lines(store, bundle_lines.read_lines(handle, str(source)), str(source))
        else:
            with _reading(source):
                local.mark_orphans()  # a run whose recorder was killed arrives as interrupted, as a reader sees it
            counts = bundle.import_lines(store, _exported(local, source), str(source))
    finally:
        store.close()
        if local is not None:
            local.close()
    completed = f", {counts['completed']} runs completed" if counts["completed"] else ""
    sys.stdout.write(
        f"imported into {store.location}: {counts['runs']} new runs, {counts['events']} new events,"
        f" {counts['approvals']} new approvals{completed}\n"
    )
    if counts["unproven"]:
        sys.stderr.write(_UNPROVEN.format(n=counts["unproven"], source=source))
    return int(ExitCode.PASSED)


_UNPROVEN = (
    "agentctl: {n} run(s) in {source} differ from the stored record and their seal does not verify here"
    " (another store key?): the stored record was kept\n"
)


def _local_store(source: Path) -> Any:
    """``source`` opened as a SQLite run store (its key: the ``.agentctl/`` it was spooled under), or ``None``."""
    with source.open("rb") as head:
        if head.read(16) != b"SQLite format 3\x00":
            return None
    from agentctl.cli.main import UsageError
    from agentctl.store import sqlite
    from agentctl.store.spool import key_dir_of

    if not _is_run_store(source):  # looked at read-only: someone else's database is left as it was
        raise UsageError(f"{source} is not an agentctl run store", "give a bundle or a file from .agentctl/spool/")
    # An older agentctl's store is brought forward without loss, as any command would.
    return sqlite.Store(source, "", key_dir=key_dir_of(source))


@contextlib.contextmanager
def _reading(source: Path) -> Iterator[None]:
    """Reading a spool file: one damaged past reading is a one-line error, not a crash."""
    import sqlite3

    from agentctl.store.errors import StoreError

    try:
        yield
    except (ValueError, TypeError, KeyError, sqlite3.Error) as exc:
        raise StoreError(
            f"{source}: a damaged run store ({type(exc).__name__}); nothing of it was imported",
            "import the run from a bundle written by agentctl runs export instead, or keep the file for inspection",
        ) from None


def _exported(local: Any, source: Path) -> Iterator[str]:
    """A spool file's runs as bundle lines."""
    from agentctl.store import bundle

    with _reading(source):
        yield from bundle.export_lines(local, None)


def _is_run_store(source: Path) -> bool:
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error:
        return False
    return {"runs", "events", "meta"} <= tables


def sync() -> int:
    """Import every run spooled under ``.agentctl/spool/`` into the configured store; delete what it now holds."""
    from agentctl.cli.main import UsageError
    from agentctl.errors import AgentctlError
    from agentctl.store import sqlite
    from agentctl.store.errors import StoreUnavailable
    from agentctl.store.location import SPOOL_DIR
    from agentctl.store.spool import SUFFIXES

    path, url = _target()
    if url is None:
        raise UsageError("no server store configured to sync to", "set AGENTCTL_STORE (or --store) to postgresql://…")
    files = sorted((path.parent / SPOOL_DIR).glob("*.db"))
    store = sqlite.Store(path, url)
    pushed = failed = 0
    try:
        for file in files:
            try:
                counts = _sync_one(store, file)
            except StoreUnavailable:
                raise
            except AgentctlError as exc:  # one damaged or forged spool file does not hold up the others
                failed += 1
                sys.stderr.write(f"agentctl: {exc.message}\n{file}: kept, not imported\n")
                continue
            if counts is None:
                continue
            if counts["unproven"]:
                sys.stderr.write(_UNPROVEN.format(n=counts["unproven"], source=file) + f"{file}: kept\n")
                continue
            for suffix in SUFFIXES:
                Path(f"{file}{suffix}").unlink(missing_ok=True)
            pushed += 1
            sys.stderr.write(f"{file}: {counts['runs']} new runs, {counts['events']} new events, pushed and removed\n")
    finally:
        store.close()
    sys.stdout.write(f"synced {pushed} of {len(files)} spool files into {store.location}\n")
    if failed:
        raise UsageError(
            f"{failed} spool file(s) could not be imported (see above); they were kept",
            "inspect them with agentctl runs show after importing elsewhere, or move them aside",
        )
    return int(ExitCode.PASSED)


def _sync_one(store: Any, file: Path) -> dict[str, int] | None:
    """Import one spool file (``None``: still being recorded, left for later)."""
    from agentctl.cli.main import UsageError
    from agentctl.store import bundle

    local = _local_store(file)
    if local is None:
        raise UsageError(f"{file} is not an agentctl run store", "move it out of .agentctl/spool/")
    try:
        with _reading(file):
            local.mark_orphans()
            running = any(run.status == "running" for run in local.all_runs())
        if running:
            sys.stderr.write(f"{file}: still being recorded, left for later\n")
            return None
        return bundle.import_lines(store, _exported(local, file), str(file))
    finally:
        local.close()
