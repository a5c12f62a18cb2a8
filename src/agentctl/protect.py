"""The protected set: what an agent under ``agentctl run`` may read but never change,
and what it may not even see.

One definition, used by the sandbox (read-only and hidden mounts) and by the
tripwires (fingerprinted at start, checked after every tool call). The set is
extended by ``protect.paths`` / ``protect.hidden`` in ``agentctl.yaml``; nothing
the agent does can shrink it, because ``agentctl.yaml`` is itself protected.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO_PROTECTED = (
    ".agentctl",
    "agentctl.yaml",
    ".claude",
    ".mcp.json",
    ".codex",
    ".git/hooks",
    ".git/config",
    ".github/workflows",
    ".gitlab-ci.yml",
    ".pre-commit-config.yaml",
    # Other CI systems' definitions, git hook managers and direnv: they run code later, outside the
    # sandbox (on a CI runner with its secrets, in the user's next commit or `cd`), so an agent must
    # not write them any more than .github/workflows.
    ".github/actions",
    ".gitlab",
    ".circleci",
    "Jenkinsfile",
    ".buildkite",
    "azure-pipelines.yml",
    "bitbucket-pipelines.yml",
    ".travis.yml",
    ".drone.yml",
    ".woodpecker.yml",
    ".woodpecker",
    ".husky",
    "lefthook.yml",
    ".lefthook.yml",
    ".envrc",
    # Editor and dev-container definitions that run commands when the folder is opened (VS Code tasks with
    # runOn: folderOpen, settings naming interpreters and terminal profiles, devcontainer lifecycle commands).
    ".vscode/tasks.json",
    ".vscode/settings.json",
    ".devcontainer",
    # The agents' own instruction files: each agent reads them as standing orders at its next start (and
    # .cursor holds Cursor's rules and MCP servers), so an agent that rewrites them steers the next session.
    "CLAUDE.md",
    "CLAUDE.local.md",
    "AGENTS.md",
    "AGENTS.override.md",
    ".cursorrules",
    ".cursor",
    ".windsurfrules",
    "GEMINI.md",
    ".github/copilot-instructions.md",
)
"""Repository-relative paths the agent may read but not change (policy directories are added)."""

GIT_PLUMBING = (".git/commondir", ".git/config.worktree", ".git/worktrees", ".git/info/attributes")
"""Files in ``.git`` that redirect or configure git (another repository, per-worktree config, filters)
without touching ``.git/config``: the gate denies writing them and the tripwire checks them after a run
(they are not mounted read-only: a placeholder for a missing one would break git)."""

SUBMODULE_GIT = re.compile(r"^\.git/modules/(?:[^/]+/)+?(hooks(/.*)?|config|config\.worktree|info/attributes)$")
"""A submodule's git directory (``.git/modules/NAME[/modules/NAME…]``): its hooks and settings run code like the
repository's own (matched on the repository-relative path: submodules come and go)."""


def submodule_git_paths(root: Path) -> list[Path]:
    """The hooks and settings of the submodule git directories under ``root/.git/modules`` now."""
    base = root / ".git" / "modules"
    if not base.is_dir():
        return []
    found: list[Path] = []
    for folder, dirs, _files in os.walk(base):
        here = Path(folder)
        if (here / "HEAD").is_file():
            found += [p for p in (here / "hooks", here / "config") if p.exists()]  # a placeholder would break git
            dirs[:] = [d for d in dirs if d == "modules"]
    return sorted(found)


HOME_ON_PATH = (".local/bin",)
"""Home directories on ``PATH``: a program written there runs instead of the real one later (judged by the gate)."""

HOME_PROTECTED = (".claude", ".claude.json", ".codex", ".config/agentctl")
"""Home-relative agent configuration and hook locations."""

HOME_CREDENTIALS: Mapping[str, tuple[str, ...]] = {
    "aws": (".aws",),
    "gcloud": (".config/gcloud",),
    "azure": (".azure",),
    "kube": (".kube",),
    "docker": (".docker/config.json",),
    "ssh": (".ssh",),
    "netrc": (".netrc", ".pgpass", ".pg_service.conf"),
}
"""Credentials hidden from the agent unless ``--allow-credentials NAME`` opts in."""

ENV_CREDENTIALS: Mapping[str, tuple[str, ...]] = {
    "aws": ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE"),
    "gcloud": ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CREDENTIALS", "CLOUDSDK_AUTH_ACCESS_TOKEN"),
    "azure": ("AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_PASSWORD", "ARM_CLIENT_SECRET"),
    "kube": ("KUBECONFIG",),
    "vault": ("VAULT_TOKEN",),
    "github": ("GH_TOKEN", "GITHUB_TOKEN"),
}
"""Environment variables removed from the agent's environment unless opted in."""

CREDENTIAL_KINDS = tuple(sorted({*HOME_CREDENTIALS, *ENV_CREDENTIALS}))

SYSTEM_READ_ONLY = (
    "/etc",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/opt",
    "/boot",
    "/srv",
    "/var/spool",
    "/var/lib",
)
"""The system, read-only inside the sandbox even for root: managed agent settings
(``/etc/claude-code``, ``/etc/codex``), ``/etc/gitconfig``, cron, the binaries on
PATH. Enforced by the sandbox only (too large to fingerprint); a directory that
holds the repository, the working directory or the home directory is left out."""

STORE_KEY = Path(".agentctl") / "store.key"
"""The per-repository key that makes records tamper-evident; hidden from the agent."""


@dataclass(frozen=True)
class ProtectedSet:
    """Absolute paths: ``read_only`` the agent may read, ``hidden`` it may not see."""

    read_only: tuple[Path, ...]
    hidden: tuple[Path, ...]
    hidden_env: tuple[str, ...] = ()
    allowed_credentials: tuple[str, ...] = ()
    extra: tuple[str, ...] = field(default=())
    installation: tuple[Path, ...] = ()
    """agentctl's installation (also in ``read_only``): enforced by the sandbox, too large to fingerprint."""

    @property
    def watched(self) -> tuple[Path, ...]:
        """What the tripwire fingerprints: the read-only set without the installation."""
        return tuple(p for p in self.read_only if p not in self.installation)


def installation_paths() -> list[Path]:
    """agentctl's own installation: the package, the environment it runs from, the interpreter."""
    import agentctl

    paths = {Path(agentctl.__file__).resolve().parent, Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    return sorted(paths)


def protected_set(
    root: Path,
    policy_dirs: Iterable[Path],
    *,
    home: Path | None = None,
    codex_home: str | None = None,
    extra_paths: Iterable[str] = (),
    extra_hidden: Iterable[str] = (),
    allow_credentials: Iterable[str] = (),
) -> ProtectedSet:
    """The protected set of a run in ``root`` (a repository root, or the working directory)."""
    home = home if home is not None else Path(os.path.expanduser("~"))
    allowed = tuple(sorted(set(allow_credentials)))
    unknown = set(allowed) - set(CREDENTIAL_KINDS)
    if unknown:
        raise ValueError(f"unknown credential kind {sorted(unknown)[0]!r}; known: {', '.join(CREDENTIAL_KINDS)}")
    read_only: set[Path] = {root / p for p in REPO_PROTECTED}
    read_only |= {home / p for p in HOME_PROTECTED}
    read_only |= {Path(d) if Path(d).is_absolute() else root / d for d in policy_dirs}
    read_only |= {root / "policies"}
    if codex_home:
        read_only.add(Path(codex_home))
    installation = tuple(_absolute(p) for p in installation_paths())
    read_only |= set(installation)
    for item in extra_paths:
        path = Path(os.path.expanduser(item))
        read_only.add(path if path.is_absolute() else root / path)
    hidden: set[Path] = {root / STORE_KEY}
    for kind, names in HOME_CREDENTIALS.items():
        if kind not in allowed:
            hidden |= {home / n for n in names}
    for item in extra_hidden:
        path = Path(os.path.expanduser(item))
        hidden.add(path if path.is_absolute() else root / path)
    hidden_env = tuple(sorted(n for kind, names in ENV_CREDENTIALS.items() if kind not in allowed for n in names))
    return ProtectedSet(
        read_only=tuple(sorted(_absolute(p) for p in read_only)),
        hidden=tuple(sorted(_absolute(p) for p in hidden)),
        hidden_env=hidden_env,
        allowed_credentials=allowed,
        extra=tuple(extra_paths),
        installation=installation,
    )


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


def fingerprint(paths: Iterable[Path], *, skip: Iterable[Path] = ()) -> dict[str, str]:
    """A digest per file under ``paths`` (missing paths included, as ``-``): compare two to see a change.

    Files are identified by size, mode, mtime (ns) and inode, and their content is
    hashed when small, so a change that restores the mtime is still seen.
    """
    skipped = {str(p) for p in skip}
    out: dict[str, str] = {}
    for base in paths:
        _walk(Path(base), out, skipped)
    return out


def _walk(path: Path, out: dict[str, str], skipped: set[str]) -> None:
    key = str(path)
    if key in skipped:
        return
    try:
        info = path.lstat()
    except OSError:
        out[key] = "-"
        return
    if stat.S_ISDIR(info.st_mode):
        out[key] = f"d{info.st_mode:o}"
        try:
            names = sorted(os.listdir(path))
        except OSError:
            return
        for name in names:
            _walk(path / name, out, skipped)
        return
    digest = f"{info.st_mode:o}:{info.st_size}:{info.st_mtime_ns}:{info.st_ino}"
    if stat.S_ISLNK(info.st_mode):
        digest += ":" + os.readlink(path)
    elif stat.S_ISREG(info.st_mode) and info.st_size <= 1 << 20:
        try:
            digest += ":" + hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
        except OSError:
            digest += ":unreadable"
    out[key] = digest


def changed(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """Paths added, removed or changed between two fingerprints.

    An empty directory or empty file appearing where nothing was (or going away
    again) is not a change: the sandbox of a concurrent run creates such mount
    points for protected paths that do not exist, and an empty placeholder holds
    no policy, hook or setting. Anything put inside one is a change.
    """
    keys = set(before) | set(after)
    return sorted(
        k
        for k in keys
        if before.get(k) != after.get(k) and not (_absent_or_empty(k, before) and _absent_or_empty(k, after))
    )


def _absent_or_empty(key: str, prints: Mapping[str, str]) -> bool:
    value = prints.get(key, "-")
    if value == "-":
        return True
    if value.startswith("d"):  # a tree of directories and empty files holds nothing
        prefix = key + "/"
        return all(_empty_entry(v) for k, v in prints.items() if k.startswith(prefix))
    return _empty_entry(value)


def _empty_entry(value: str) -> bool:
    if value == "-" or value.startswith("d"):
        return True
    parts = value.split(":")
    try:
        return len(parts) > 1 and stat.S_ISREG(int(parts[0], 8)) and parts[1] == "0"
    except ValueError:
        return False
