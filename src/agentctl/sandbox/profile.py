"""The sandbox profile of one ``agentctl run``: the protected set plus what the agent's CLI must write.

The protected and hidden sets come from :mod:`agentctl.protect` (extended by
``protect.paths`` / ``protect.hidden`` in ``agentctl.yaml``). Claude Code and
Codex keep their configuration and hooks next to their working state in the
same directories (``~/.claude``, ``~/.claude.json``, ``$CODEX_HOME``); the
state they write on every run is listed here and given a private per-run
place, while everything else in those directories stays read-only.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from agentctl import protect
from agentctl.sandbox.interface import Profile

CLAUDE_STATE: Mapping[str, str] = {
    ".claude.json": "copy",
    ".claude/plugins/store": "copy",
    **{
        f".claude/{name}": "fresh"
        for name in (
            "projects",
            "todos",
            "shell-snapshots",
            "statsig",
            "session-env",
            "sessions",
            "backups",
            "debug",
            "plans",
            "file-history",
            "ide",
            "logs",
            "cache",
            "telemetry",
            "paste-cache",
        )
    },
}
"""Home-relative paths Claude Code writes while it runs (found by tracing the real CLI)."""

CODEX_STATE = (
    "sessions",
    "archived_sessions",
    "log",
    "shell_snapshots",
    ".tmp",
    "tmp",
    "thread-writer-locks",
    "installation_id",
    ".sandbox_migration",
    "models_cache.json",
    "version.json",
    "history.jsonl",
    "cache",
    "skills/.system",
    "*.sqlite",
    "*.sqlite-*",
)
"""``$CODEX_HOME``-relative names (globs) Codex writes while it runs; each run starts them empty."""

HOME_RUN_LATER = (
    ".gitconfig",
    ".config/git",
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".config/fish",
    ".config/systemd",
    ".config/autostart",
    ".pam_environment",
    # package managers' settings: an index, a registry or a script shell that later installs run with
    ".npmrc",
    ".yarnrc",
    ".yarnrc.yml",
    ".pip",
    ".config/pip",
    ".pydistutils.cfg",
    ".terraformrc",
    "terraform.rc",
)
"""Home files that run code later outside the sandbox (agentctl's own git calls, the user's next shell):
read-only; one the agent creates where none existed stays private to the run."""

ENV_EXTRA_HIDDEN: Mapping[str, tuple[str, ...]] = {
    "ssh": ("SSH_AUTH_SOCK",),
    "netrc": ("PGPASSWORD", "PGPASSFILE", "PGSERVICEFILE"),
}
"""Credential-bearing variables beyond :data:`agentctl.protect.ENV_CREDENTIALS` (an agent socket, a password)."""

ENV_CREDENTIAL_FILES: Mapping[str, tuple[str, ...]] = {
    "netrc": ("PGPASSFILE", "PGSERVICEFILE"),
    "kube": ("KUBECONFIG",),
    "gcloud": ("GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG"),
    "aws": ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE"),
    "azure": ("AZURE_CONFIG_DIR", "AZURE_CLIENT_CERTIFICATE_PATH"),
    "docker": ("DOCKER_CONFIG",),
}
"""Variables naming a credential file (or ``:``-separated list) anywhere on disk: the variable is unset, and
the files are hidden too, or the agent could still read them where they are (a team store's libpq service
file with its password, a kubeconfig outside ~/.kube)."""

ENV_ALWAYS_HIDDEN = ("AGENTCTL_STORE",)
"""agentctl's own settings the agent has no use for: a store URL may carry a password."""


def build(
    root: Path,
    cwd: Path,
    policy_dirs: Iterable[Path],
    env: Mapping[str, str],
    *,
    extra_paths: Iterable[str] = (),
    extra_hidden: Iterable[str] = (),
    allow_credentials: Iterable[str] = (),
) -> Profile:
    """The profile for a run in ``root`` (repository root, or the working directory outside git)."""
    home = _real(Path(env.get("HOME") or os.path.expanduser("~")))
    codex_home = _real(Path(env["CODEX_HOME"])) if env.get("CODEX_HOME") else home / ".codex"
    found = protect.protected_set(
        _real(root),
        [_real(Path(d)) for d in policy_dirs],
        home=home,
        codex_home=str(codex_home),
        extra_paths=extra_paths,
        extra_hidden=extra_hidden,
        allow_credentials=allow_credentials,
    )
    read_only = _with_targets([*found.read_only, *(home / rel for rel in HOME_RUN_LATER)]) | _git_dirs(_real(root))
    read_only |= set(protect.submodule_git_paths(_real(root)))  # the submodules' hooks and config, as the gate
    read_only |= _system(_real(root), _real(cwd), home)
    named = [
        Path(os.path.expanduser(item))
        for kind, names in ENV_CREDENTIAL_FILES.items()
        if kind not in found.allowed_credentials
        for name in names
        for item in (env.get(name) or "").split(os.pathsep)
        if item.strip()
    ]
    # never a directory that holds the repository or the home directory (a variable set to something odd)
    named = [p for p in named if p.is_absolute() and not root.is_relative_to(p) and not home.is_relative_to(p)]
    hidden = _with_targets([*found.hidden, *named])
    hidden_env = set(found.hidden_env) | set(ENV_ALWAYS_HIDDEN)
    for kind, names in [*ENV_EXTRA_HIDDEN.items(), *ENV_CREDENTIAL_FILES.items()]:
        if kind not in found.allowed_credentials:
            hidden_env |= set(names)
    state = {home / rel: mode for rel, mode in CLAUDE_STATE.items()}
    state |= {path: "fresh" for path in _expand(codex_home, CODEX_STATE)}
    return Profile(
        read_only=tuple(sorted(read_only)),
        hidden=tuple(sorted(hidden)),
        hidden_env=tuple(sorted(hidden_env)),
        state=tuple(sorted(state.items())),
        home=home,
        private_roots=(codex_home,) if not codex_home.is_relative_to(home) else (),
        cwd=_real(cwd),
        root=_real(root),
        allow_credentials=found.allowed_credentials,
    )


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _with_targets(paths: Iterable[Path]) -> set[Path]:
    """The paths and, where one is (or passes through) a symlink, where it really is."""
    out: set[Path] = set()
    for path in paths:
        out.add(path)
        out.add(_real(path))
    return out


def _git_dirs(root: Path) -> set[Path]:
    """A linked worktree's ``.git`` is a file: its hooks and config live in the common git directory."""
    marker = root / ".git"
    if not marker.is_file():
        return set()
    try:
        text = marker.read_text(encoding="utf-8").strip()
    except OSError:
        return set()
    if not text.startswith("gitdir:"):
        return set()
    gitdir = Path(text.split(":", 1)[1].strip())
    gitdir = gitdir if gitdir.is_absolute() else root / gitdir
    common = gitdir
    with contextlib.suppress(OSError):
        common = gitdir / (gitdir / "commondir").read_text(encoding="utf-8").strip()
    common = _real(common)
    return {marker, common / "hooks", common / "config", _real(gitdir) / "config.worktree"}


def _expand(base: Path, names: Iterable[str]) -> set[Path]:
    """Literal names, and globs matched against what is in ``base`` now."""
    try:
        present = os.listdir(base)
    except OSError:
        present = []
    out: set[Path] = set()
    for name in names:
        if any(c in name for c in "*?["):
            out |= {base / entry for entry in fnmatch.filter(present, name)}
        else:
            out.add(base / name)
    return out


def _system(*workplaces: Path) -> set[Path]:
    """The system directories that exist and hold none of the places the agent works in."""
    out = set()
    for name in protect.SYSTEM_READ_ONLY:
        path = Path(name)
        if path.is_dir() and not path.is_symlink() and not any(w.is_relative_to(path) for w in workplaces):
            out.add(path)
    return out
