"""What one simple command does: unwrapping, files read and written, code it runs.

Called by :mod:`agentctl.gate.shell` for every simple command it finds:

* wrappers are peeled off (``sudo``, ``env``, ``command``, ``exec``, ``nice``,
  ``nohup``, ``timeout``, ``time``, ``xargs``…) so ``name`` is what really runs;
* ``bash -c STRING``, ``eval STRING``, ``source FILE``, a script given to a
  shell, heredocs and literal text piped into a shell are parsed recursively,
  and inline interpreter code (``python -c``, ``perl -e``…) is judged, by
  :mod:`agentctl.gate.shell_scripts` (its helpers are importable from here too);
* ``find -exec`` runs a command of its own; ``find -delete`` writes its roots;
* known writers (``tee cp mv sed -i …``) and readers fill ``writes``/``reads``;
  runners (``npm run``, ``pytest``…) are looked up in :mod:`agentctl.gate.shell_runners`.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from agentctl.gate import (
    inline,
    shell_entries,
    shell_files,
    shell_hazards,
    shell_kube,
    shell_kubetools,
    shell_localbin,
    shell_make,
    shell_runners,
    shell_scripts,
    shell_wrappers,
    shell_writers,
)
from agentctl.gate.shell_localbin import SEARCH as LOCAL_BINS
from agentctl.gate.shell_scripts import STDIN_PATHS as STDIN_PATHS
from agentctl.gate.shell_scripts import judge_code as judge_code
from agentctl.gate.shell_scripts import nested as nested
from agentctl.gate.shell_scripts import places as places
from agentctl.gate.shell_scripts import read_code as read_code
from agentctl.gate.shell_scripts import script as script
from agentctl.gate.shell_scripts import stdin_code as stdin_code
from agentctl.gate.shell_scripts import unreadable as unreadable
from agentctl.gate.shell_scripts import written_by as written_by

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker

SHELLS = {"bash", "sh", "zsh", "dash", "ksh", "ash", "mksh", "yash", "fish", "rbash", "tcsh", "csh", "oksh", "loksh",
          "lksh", "pdksh", "posh", "osh", "ysh", "elvish", "nu", "xonsh"}  # fmt: skip
"""Shells: their text is parsed as POSIX shell (what does not parse is opaque)."""
_VERSIONED_TOOL = re.compile(r"^(terraform|tofu|terragrunt|kubectl|helm|pulumi|oc)[-_.]?v?\d[\w.-]*$")
_VERSIONED_SHELL = re.compile(r"^(bash|zsh|ksh|dash|mksh|ash|yash|tcsh|csh|sh)[\d.]+$")
SENSITIVE = {
    "terraform",
    "tofu",
    "terragrunt",
    "kubectl",
    "oc",
    "helm",
    "kubecolor",
    "pulumi",
    "cdktf",
    "argocd",
    "helmfile",
}
KUBE = {"kubectl", "oc", "kubecolor"}
_TOOL_ALIASES = {
    "helm3": "helm",
    "microk8s.kubectl": "kubectl",
    "microk8s.helm3": "helm",
    "microk8s.helm": "helm",
    "k3s-kubectl": "kubectl",
    "opentofu": "tofu",
    "kubectl.exe": "kubectl",
    "terraform.exe": "terraform",
}
"""Tools whose arguments decide a protected effect: unknown arguments make them opaque."""


def basename(word: str) -> str:
    return word.rstrip("/").rsplit("/", 1)[-1] if "/" in word else word


def output_text(cmd: Command) -> str | None:
    """What a command prints when that is known from the parse (``echo``, ``printf``, ``cat`` of a heredoc)."""
    if cmd.name not in ("echo", "printf", "cat") or cmd.opaque or not all(cmd.literal):
        return None
    if cmd.name == "echo":
        args = cmd.argv[1:]
        while args and re.fullmatch(r"-[neE]+", args[0]):
            args = args[1:]
        return " ".join(args) + "\n"
    if cmd.name == "printf" and len(cmd.argv) >= 2 and "%" not in cmd.argv[1]:
        return cmd.argv[1].encode().decode("unicode_escape", "replace")
    if cmd.name == "cat" and len(cmd.argv) == 1 and cmd.stdin is not None:
        return cmd.stdin
    return None


_KUBE_TRACKED = frozenset({*KUBE, "helm", "curl", "wget", "http", "https", "xh", *shell_kubetools.TOOLS})


@functools.lru_cache(maxsize=1024)
def _interpreter_name(name: str) -> bool:
    return inline.interpreter(name)


_SPECIAL_NAMES = frozenset({"alias", "busybox", "eval", "source", ".", "find", "make", "gmake", *SHELLS})
"""Names that :func:`analyse` handles itself (with interpreters; the rest: runners, then files touched)."""


def _tool_alias(cmd: Command, name: str) -> str:
    """``helm3`` is helm; a kubectl plugin ``kubectl-delete x`` is ``kubectl delete x``."""
    if name in _TOOL_ALIASES:
        cmd.argv = [_TOOL_ALIASES[name], *cmd.argv[1:]]
        return _TOOL_ALIASES[name]
    verb = name[len("kubectl-") :].replace("_", "-")
    cmd.argv, cmd.literal = ["kubectl", verb, *cmd.argv[1:]], [True, *cmd.literal]
    return "kubectl"


_ORDINARY: dict[str, int] = {}
"""Per command name, what :func:`_ordinary` found (asked once per name: most commands of a script are)."""
_RENAMED, _JUDGED, _QUIET = 0, 1, 2


def _ordinary(name: str) -> int:
    """_RENAMED: a renaming applies to ``name`` (a versioned shell or tool, a tool spelled in capitals, a tool
    alias or kubectl plugin), or it is a special name or an interpreter. _QUIET: none of that, and nothing judges
    its arguments (no runner, no files, no hazard, no tool of its own: ``echo``, ``cd``, ``exit``). _JUDGED: the
    rest (its runner, then the files it touches, judge it)."""
    lowered = name.lower()
    if (
        _VERSIONED_SHELL.match(name)
        or _VERSIONED_TOOL.match(lowered)
        or (name not in SENSITIVE and lowered in SENSITIVE)
        or name in _TOOL_ALIASES
        or name.startswith(("kubectl-", "kubectl_"))
        or name in _SPECIAL_NAMES
        or _interpreter_name(name)
    ):
        kind = _RENAMED
    elif (  # what analyse() looks at by name is never quiet, even where another table also names it
        name in SENSITIVE
        or name in _KUBE_TRACKED
        or name in ("git", "terraform", "tofu")
        or name in SHELLS
        or shell_runners.handles(name)
        or not shell_files.touches_nothing(name)
        or shell_hazards.judged(name)
    ):
        kind = _JUDGED
    else:
        kind = _QUIET
    if len(_ORDINARY) >= 4096:  # names come from the text judged: bounded
        _ORDINARY.clear()
    _ORDINARY[name] = kind
    return kind


def analyse(cmd: Command, walker: Walker) -> None:
    """Unwrap ``cmd`` in place, fill its effects, and add the commands it runs to the walker."""
    argv, literal = cmd.argv, cmd.literal
    if not argv:
        return
    name = argv[0]
    if "/" in name:
        name = basename(name)
    if walker.aliases or name in shell_wrappers.WRAPPERS:  # else (most commands) nothing to peel off
        argv, literal = _unwrapped(cmd, walker)
        if not argv:
            return
        name = basename(argv[0])
    cmd.name = name
    kind = _ORDINARY.get(name)
    if kind is None:
        kind = _ordinary(name)
    if (
        kind == _QUIET  # ``echo x``: only what every command has to be looked at for
        and literal[0]
        and not cmd.assigned
        and not walker.kube_tunnels
        and "/" not in argv[0]
        and not name.endswith(".py")
        and LOCAL_BINS not in walker.exported
        and "npx" not in cmd.via
    ):
        shell_hazards.dotglob(cmd, walker)
        return
    if kind == _RENAMED:
        if _VERSIONED_SHELL.match(name):  # ``ksh93``, ``bash5.2``: that shell
            name = cmd.name = _VERSIONED_SHELL.sub(r"\1", name)
        versioned = _VERSIONED_TOOL.match(name.lower())  # ``terraform_1.5.7``, ``kubectl-1.30``: that tool
        if name not in SENSITIVE and (name.lower() in SENSITIVE or versioned):  # ``TERRAFORM`` (case-insensitive FS)
            name = cmd.name = versioned.group(1) if versioned else name.lower()
            argv = cmd.argv = [name, *argv[1:]]
        if name in _TOOL_ALIASES or name.startswith(("kubectl-", "kubectl_")):
            name = cmd.name = _tool_alias(cmd, name)
            argv, literal = cmd.argv, cmd.literal
    if not literal[0] and not cmd.opaque:
        cmd.opaque = f"the command name is computed at run time ({argv[0]})"
    args = argv[1:]
    if name == "git":  # ``git -C DIR``: everything it runs or touches is in DIR
        shell_writers.git_dir(cmd, args)
    if cmd.assigned:
        shell_runners.environment(cmd, dict(cmd.assigned), walker)
    searched = shell_localbin.enter(cmd, walker) if "PATH" in cmd.assigned else walker.exported.get(LOCAL_BINS)
    if name in ("terraform", "tofu") and (cmd.assigned or walker.exported):
        shell_entries.terraform_env(cmd, walker)
        argv, literal, args = cmd.argv, cmd.literal, cmd.argv[1:]
    if name in _KUBE_TRACKED or walker.kube_tunnels:
        shell_kube.track(cmd, name, walker)
        args = cmd.argv[1:]
    if ("/" in argv[0] or (name.endswith(".py") and "uv" in cmd.via)) and literal[0] and name not in SHELLS:
        shell_scripts.program(cmd, argv[0], walker)
    elif literal[0] and (LOCAL_BINS in walker.exported or "npx" in cmd.via):  # ``PATH=./node_modules/.bin:$PATH``
        found = shell_localbin.resolve(cmd, name, walker)
        if found:
            shell_scripts.program(cmd, found, walker)
    if kind != _RENAMED or (name not in _SPECIAL_NAMES and not _interpreter_name(name)):
        if not shell_runners.run(cmd, name, args, walker):
            shell_files.effects(cmd, name, args, walker)
    elif name == "alias":
        walker.aliases.update(a.split("=", 1) for a in args if "=" in a)  # type: ignore[misc]
    elif name in SHELLS or (name == "busybox" and args[:1] and args[0] in SHELLS):
        shell_scripts.shell(cmd, args[1:] if name == "busybox" else args, walker)
    elif name == "eval":
        nested(cmd, " ".join(args), all(literal[1:]), walker, "eval")
    elif name in ("source", "."):
        if args:
            cmd.reads.append(args[0])
            script(cmd, args[0], literal[1], walker)
    elif _interpreter_name(name):
        shell_scripts.interpreter(cmd, name, args, walker)
    elif name == "find":
        _find(cmd, args, walker)
    elif name in ("make", "gmake"):
        shell_make.judge(cmd, args, walker)
    elif not shell_runners.run(cmd, name, args, walker):
        shell_files.effects(cmd, name, args, walker)
    shell_hazards.judge(cmd, walker)
    if name in SENSITIVE and not all(literal) and not cmd.opaque:
        cmd.opaque = f"{name}'s arguments are computed at run time"
    if searched is not None or LOCAL_BINS in walker.exported:
        shell_localbin.leave(walker, searched)


def _unwrapped(cmd: Command, walker: Walker) -> tuple[list[str], list[bool]]:
    """Peel aliases and wrappers (``sudo``, ``env``, ``xargs``…) off ``cmd``: its argv and literal flags after."""
    argv, literal = cmd.argv, cmd.literal
    expanded: set[str] = set()
    while argv and (walker.aliases or basename(argv[0]) in shell_wrappers.WRAPPERS):
        if argv[0] in walker.aliases and literal[0] and argv[0] not in expanded:
            expanded.add(argv[0])
            words = shell_wrappers.split(walker.aliases[argv[0]])
            argv, literal = [*words, *argv[1:]], [True] * len(words) + literal[1:]
            cmd.via.append("alias")
            continue
        cmd.argv, cmd.literal = argv, literal
        start = shell_wrappers.unwrap(basename(argv[0]), argv, cmd)
        if start is None:
            break
        cmd.via.append(basename(argv[0]))
        shell_hazards.launcher(cmd, basename(argv[0]), argv[1:], walker)  # ``npx URL``: before argv is cut
        argv, literal = argv[start:], literal[start:]
    cmd.argv, cmd.literal = argv, literal
    return argv, literal


def literal_word(cmd: Command, word: str) -> bool:
    """Whether ``word`` (an argument of ``cmd``) is fully known from the text."""
    return next((lit for w, lit in zip(cmd.argv, cmd.literal, strict=False) if w == word), True)


_RUNS_SCRIPTS = frozenset({*SHELLS, "source", "."})


def _find(cmd: Command, args: list[str], walker: Walker) -> None:
    roots: list[str] = []
    i = 0
    while i < len(args) and not args[i].startswith(("-", "(", "!")):
        roots.append(args[i])
        i += 1
    roots = roots or ["."]
    while i < len(args):
        arg = args[i]
        if arg == "-delete":
            cmd.writes += roots
        elif arg in ("-fprint", "-fprint0", "-fprintf", "-fls") and i + 1 < len(args):
            cmd.writes.append(args[i + 1])
        elif arg in ("-exec", "-execdir", "-ok", "-okdir"):
            j = i + 1
            while j < len(args) and args[j] not in (";", "+"):
                j += 1
            found = shell_writers.find_output(args)[0]  # ``{}``: what find matched (a glob of its -name)
            inner = [a.replace("{}", found) for a in args[i + 1 : j]]
            if inner:
                from agentctl.gate.shell import Command as Cmd

                # a file find matched, run as code: which one is only known at run time
                runs_code = basename(inner[0]) in _RUNS_SCRIPTS or _interpreter_name(basename(inner[0]))
                known = [not (runs_code and "{}" in a) for a in args[i + 1 : j]]
                sub = Cmd(argv=inner, literal=known, cwd=cmd.cwd, via=[*cmd.via, f"find {arg}"])
                sub.alt_cwds = list(cmd.alt_cwds)
                walker.out.append(sub)
                analyse(sub, walker)
            i = j
        i += 1
