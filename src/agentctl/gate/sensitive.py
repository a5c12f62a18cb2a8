"""What the agent must not read or change: secret files, the protected set, infrastructure-as-code files.

Pure classification of paths, shared by every tool's judgement (:mod:`agentctl.gate.effects` for shell
text, :mod:`agentctl.gate.toolcall` for edits and reads, :mod:`agentctl.gate.reach`): whether reading a
file exposes a credential, whether writing (or deleting) a path reaches the protected set computed from
:mod:`agentctl.protect`, whether a file is Terraform or Kubernetes.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from agentctl import protect

_SECRET_NAME = re.compile(
    r"^(\.env(\.[\w.-]+)?|\.netrc|\.pgpass|credentials\.json|\.git-credentials|\.npmrc|\.pypirc|"
    r"id_(rsa|dsa|ecdsa|ed25519)(_sk)?|[\w.-]*\.tfstate(\.backup)?|credentials\.tfrc\.json|"
    r"[\w.-]*service[-_]?account[\w.-]*\.json|secrets?\.(ya?ml|json)|\.secrets?|\.dev\.vars|"
    r"[\w.-]*(secret|credential|password|token)[\w.-]*\.tfvars(\.json)?)$",
    re.IGNORECASE,
)
"""Secret files by name. Terraform state holds every resource attribute in plain text (passwords, keys);
``*.tfvars`` usually hold plain settings (regions, sizes) an agent needs to read, so only a tfvars file
named for secrets (``secrets.auto.tfvars``) is one."""
_NOT_SECRET = re.compile(r"\.(example|sample|template|dist|defaults?|schema)$")
_SECRET_PATH = re.compile(
    r"/\.aws/credentials$|/\.ssh/id_[a-z0-9_]+$|/\.kube/config$|/\.docker/config\.json$|"
    r"/\.config/gcloud/.*credentials.*\.json$|/\.vault-token$|/\.config/gh/hosts\.ya?ml$|"
    r"/\.terraform\.d/credentials\.tfrc\.json$|^/etc/g?shadow-?$|^/proc/[^/]+/(task/\d+/)?environ$|"
    r"(?i:/\.azure/.*(token|msal).*)$"
)
_KEY_EXT = (".key", ".p12", ".pfx", ".jks", ".keystore")
_CERT_EXT = (".pem", ".crt", ".cer")
CANDIDATES = [".env", ".env.local", ".env.production", ".netrc", ".pgpass", ".git-credentials"]


def is_secret(path: Path) -> bool:
    """Whether reading ``path`` exposes a credential (a public certificate does not)."""
    name = path.name
    text = str(path)
    if (_SECRET_NAME.match(name) and not _NOT_SECRET.search(name)) or _SECRET_PATH.search(text):
        return True
    if name.endswith(_KEY_EXT):
        return True
    if name.endswith(_CERT_EXT):
        try:
            with path.open("rb") as handle:
                head = handle.read(1 << 16)
        except FileNotFoundError:
            return False
        except OSError:
            return True
        return b"PRIVATE KEY" in head
    return False


def glob_secret(pattern: str) -> bool:
    """A dotfile glob that could expand to a secret's name (``.en*``, ``.e?v``).

    Other globs are judged by what they expand to (``*`` does not match dotfiles).
    """
    base = pattern.rsplit("/", 1)[-1]
    if not base.startswith("."):
        return False
    import fnmatch

    return any(fnmatch.fnmatchcase(c, base) for c in CANDIDATES) and not _NOT_SECRET.search(base)


def protected_roots(root: Path, cwd: Path | None = None) -> Roots:
    """What the agent must not change: the protected set (repository, home, ``$CODEX_HOME``), git plumbing,
    the home files that run code later, and the system directories, as the sandbox protects them.

    Computed once per (root, cwd, home, ``$CODEX_HOME``): the gate server judges many calls. Shared: never
    changed by a caller."""
    home = os.path.realpath(os.path.expanduser("~"))
    return _protected_roots(root, cwd, home, os.environ.get("CODEX_HOME") or "")


@functools.lru_cache(maxsize=64)
def _protected_roots(root: Path, cwd: Path | None, home_text: str, codex_home: str) -> Roots:
    from agentctl.sandbox.profile import HOME_RUN_LATER

    home = Path(home_text)
    paths = [root / p for p in (*protect.REPO_PROTECTED, *protect.GIT_PLUMBING, "policies")]
    paths += [home / p for p in (*protect.HOME_PROTECTED, *HOME_RUN_LATER, *protect.HOME_ON_PATH)]
    paths += [home / p for names in protect.HOME_CREDENTIALS.values() for p in names]  # their configs run code
    if codex_home:
        paths.append(Path(codex_home))
    places = [root, home, cwd or root]
    paths += [Path(s) for s in protect.SYSTEM_READ_ONLY if not any(p.is_relative_to(s) for p in places)]
    return Roots([Path(os.path.abspath(p)) for p in paths], repo=Path(os.path.abspath(root)))


def protected_hit(path: Path, roots: list[Path], deleting: bool) -> bool:
    """``path`` is in the protected set, or (for a delete or move) contains part of it.

    Compared as text (the paths are absolute and normalised): pathlib's ``is_relative_to`` costs more
    than everything else a long script's decision does.
    """
    text = str(path)
    inside = text.rstrip("/") + "/"
    if isinstance(roots, Roots):  # the same test, by set lookups of the path's own prefixes
        if text in roots.exact or (deleting and inside in roots.inner):
            return True
        slash = text.find("/", 1)
        while slash != -1:  # ``text.startswith(other + "/")``: other is text up to one of its slashes
            if text[:slash] in roots.exact:
                return True
            slash = text.find("/", slash + 1)
        texts, repo = roots.texts, roots.repo
    else:
        texts, repo = [str(r).rstrip("/") for r in roots], ""
        for other in texts:
            if text == other or text.startswith(other + "/") or (deleting and other.startswith(inside)):
                return True
    if repo and text.startswith(repo + "/.git/modules/") and protect.SUBMODULE_GIT.match(text[len(repo) + 1 :]):
        return True
    return not deleting and any(ch in text for ch in "*?[") and _glob_hits(text, texts)


def _glob_hits(pattern: str, texts: list[str]) -> bool:
    """A write target still spelled as a glob (it matched nothing yet) that could name a protected path or one
    inside it: the shell expands it when the command runs, maybe after the same command made the directory.
    (A delete is not judged so: a glob that matches nothing deletes nothing.)"""
    import fnmatch

    parts = pattern.rstrip("/").split("/")
    for other in texts:
        names = other.split("/")
        if len(parts) >= len(names) and all(
            fnmatch.fnmatchcase(name, part) and (part[:1] == "." or name[:1] != ".")  # ``*`` skips dotfiles
            for part, name in zip(parts, names, strict=False)
        ):
            return True
    return False


class Roots(list[Path]):
    """The protected roots, with their text computed once (a decision checks many paths against them)."""

    def __init__(self, paths: list[Path], repo: Path | None = None) -> None:
        super().__init__(paths)
        self.texts = [str(p).rstrip("/") or "/" for p in paths]
        self.repo = str(repo).rstrip("/") if repo is not None else ""
        self.exact = frozenset(self.texts)
        self.inner = frozenset(t[: i + 1] for t in self.texts for i, ch in enumerate(t) if ch == "/")
        """Each root's text up to and including each of its slashes (a delete of a directory holding it)."""


def is_iac(display: str, absolute: Path) -> bool:
    name = display.rsplit("/", 1)[-1].lower()
    if name.endswith((".tf", ".tf.json", ".tfvars", ".tfvars.json", ".hcl")):
        return True
    if name.endswith((".yaml", ".yml")):
        try:
            head = absolute.read_text(encoding="utf-8", errors="replace")[:65536] if absolute.is_file() else ""
        except OSError:
            head = ""
        if re.search(r"(?m)^\s*apiVersion\s*:", head) and re.search(r"(?m)^\s*kind\s*:", head):
            return True
        return bool(re.search(r"(^|/)(k8s|kubernetes|manifests|charts|deploy|helm|kustomize)/", display))
    return False
