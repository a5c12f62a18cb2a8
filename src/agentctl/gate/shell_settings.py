"""Settings that make programs run commands: environment variables, git settings, option values.

Called by :mod:`agentctl.gate.shell_runners` (the environment a command gets, a
``git -c`` setting) and by :mod:`agentctl.gate.shell_effects` once a command is
unwrapped. What a setting runs is judged like any shell text when it is
literal, and makes the command opaque when it is computed at run time:

* variables whose value a program runs as a command (``KUBE_EDITOR``,
  ``KUBECTL_EXTERNAL_DIFF``, ``GH_PAGER``…), or loads as code
  (``PYTHONSTARTUP``);
* search paths that put a directory the agent can fill before the system's
  (``PATH=.:$PATH``, ``PATH=/tmp/x:$PATH``, ``LD_LIBRARY_PATH=.``); appending
  after the system's (``PATH=$PATH:./node_modules/.bin``) is fine;
* ``TF_CLI_ARGS``/``TF_CLI_ARGS_<command>``: words terraform adds to its own
  command line (``TF_CLI_ARGS=apply terraform`` is ``terraform apply``);
* git settings that run a command (``gpg.program``, ``mergetool.<tool>.cmd``,
  ``uploadpack.packObjectsHook``, ``core.sshCommand``…) and ``ext::`` remote
  URLs (git runs the URL's command);
* ``man -P PAGER``.
"""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING

from agentctl.gate import shell_effects as fx
from agentctl.gate import shell_localbin

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker

ENV_COMMANDS = frozenset({
    "KUBE_EDITOR", "KUBECTL_EXTERNAL_DIFF", "GH_EDITOR", "GH_PAGER", "GH_BROWSER", "SVN_EDITOR",
    "HGEDITOR", "FCEDIT", "SUDO_EDITOR", "SYSTEMD_EDITOR", "AWS_PAGER", "PSQL_PAGER", "PSQL_EDITOR", "BAT_PAGER",
    "DELTA_PAGER", "TIG_EDITOR", "JJ_EDITOR", "RSYNC_RSH", "CVS_RSH",
})  # fmt: skip
"""Variables whose value a program runs as a command (beyond :data:`agentctl.gate.shell_runners.ENV_COMMANDS`)."""
ENV_CODE = frozenset({"PYTHONSTARTUP", "DYLD_INSERT_LIBRARIES", "PERL5DB"})
"""Variables naming code a program loads (a Python file at interactive start-up, a library, a debugger)."""
SEARCH_PATHS = frozenset({"PATH", "LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "DYLD_FALLBACK_LIBRARY_PATH"})
WATCHED = ENV_COMMANDS | ENV_CODE | SEARCH_PATHS

_SYSTEM_DIRS = re.compile(r"^/(usr/(local/)?)?s?bin/?$|^/(usr/)?lib(64|32)?/?$|^/usr/local/lib/?$")
_UNTRUSTED = re.compile(r"^(/tmp|/var/tmp|/dev/shm|/run/user)(/|$)")
_OWN = re.compile(r"^\$\{?(PATH|LD_LIBRARY_PATH|DYLD_LIBRARY_PATH|DYLD_FALLBACK_LIBRARY_PATH)\}?$")
_HOME = re.compile(r"^(~|\$\{?HOME\}?)(/|$)")

_GIT_RUN_KEYS = re.compile(
    r"^(gpg(\.[^.]+)?\.program|uploadpack\.packobjectshook|(merge|diff)tool\..+\.cmd|core\.alternaterefscommand|"
    r"remote\..+\.(uploadpack|receivepack)|core\.(pager|sshcommand|editor|askpass)|sequence\.editor|"
    r"(diff|merge|filter)\..+\.(command|textconv|driver|clean|smudge|process)|pager\..+|credential(\..+)?\.helper)$",
    re.IGNORECASE,
)
"""git settings whose value git runs with the shell (or as a program): the command is judged."""


def environment(cmd: Command, env: dict[str, str | None], walker: Walker) -> None:
    """Judge the variables given to ``cmd`` (or exported by it) that make programs run something."""
    for key, value in env.items():
        if key not in WATCHED:
            continue
        computed = value is None or "$" in value or "`" in value
        if key in ENV_COMMANDS:
            fx.nested(cmd, value or "", not computed, walker, f"${key}")
        elif key in ENV_CODE:
            if value not in ("", "/dev/null"):
                cmd.opaque = cmd.opaque or f"${key} makes programs load code from {value or 'a computed path'}"
        elif value is None:
            cmd.opaque = cmd.opaque or f"${key} is computed at run time: what runs from it is unknown"
        else:
            where = untrusted_entry(key, value, walker)
            if where is not None and key == "PATH" and key in cmd.assigned and shell_localbin.local_dirs(value, walker):
                continue  # ``PATH=./node_modules/.bin:$PATH CMD``: each name is looked up there (shell_localbin)
            if where is not None:
                cmd.opaque = cmd.opaque or f"${key} puts {where or 'the current directory'} before the system's"


def assigned(walker: Walker, pair: tuple[str, str] | None) -> None:
    """A bare ``X=v`` of a watched variable, judged as exported: the environment usually exports it already
    (``PATH=/tmp/x; ls`` runs /tmp/x/ls)."""
    from agentctl.gate import shell_runners
    from agentctl.gate.shell_command import Command as Holder

    if pair is None or pair[0] not in shell_runners.WATCHED:
        return
    holder = Holder(argv=[], cwd=walker.cwd, via=list(walker.via))
    walker.out.append(holder)
    shell_runners.environment(holder, {pair[0]: pair[1]}, walker)


def untrusted_entry(key: str, value: str, walker: Walker) -> str | None:
    """The first entry of a search path the agent could fill, searched before the system's; None if none."""
    for entry in value.split(":"):
        if _OWN.match(entry) or (key == "PATH" and _SYSTEM_DIRS.match(entry)):
            return None  # everything after comes after the system's
        home = walker.home.rstrip("/")
        if (_HOME.match(entry) or (home and entry.startswith(home + "/"))) and "$(" not in entry and "`" not in entry:
            continue  # the home directory's tool directories (~/.local/bin is protected)
        if entry == "" or not entry.startswith("/") or "$" in entry or "`" in entry or _UNTRUSTED.match(entry):
            return entry
        base = walker.base.rstrip("/")
        if base and (entry == base or entry.startswith(base + "/")):
            return entry  # the working tree: the agent writes there
    return None


def git_setting(cmd: Command, key: str, value: str, literal: bool, walker: Walker) -> None:
    """``git -c KEY=VALUE`` (or ``GIT_CONFIG_*``): the command a setting makes git run, judged."""
    if _GIT_RUN_KEYS.match(key):
        helper = key.lower().startswith("credential")
        if not helper or value.startswith("!"):  # a helper without ``!`` is ``git credential-NAME``
            fx.nested(cmd, value[1:] if helper else value, literal, walker, f"git {key}")
    if value.startswith("ext::"):
        _ext_url(cmd, value, literal, walker)


def judge(cmd: Command, name: str, args: list[str], walker: Walker) -> None:
    """Options and variables of an unwrapped command that make it run another command."""
    if name in ("terraform", "tofu", "terragrunt"):
        _tf_cli_args(cmd, {**walker.exported, **cmd.assigned}, walker)
    elif name == "git":
        for arg in args:
            url = arg if arg.startswith("ext::") else arg.split("=", 1)[1] if "=ext::" in arg else ""
            if url:
                _ext_url(cmd, url, fx.literal_word(cmd, arg), walker)
    elif name == "man":
        _man(cmd, args, walker)


def _ext_url(cmd: Command, url: str, literal: bool, walker: Walker) -> None:
    """``ext::CMD ARGS``: git runs CMD (``% `` is a space inside an argument, ``%%`` a percent sign)."""
    words: list[str] = []
    for raw in re.split(r"(?<!%) ", url[len("ext::") :]):
        if raw:
            words.append(re.sub(r"%(.)", lambda m: m.group(1) if m.group(1) in " %" else "", raw))
    fx.nested(cmd, shlex.join(words), literal, walker, "git ext::")


def _man(cmd: Command, args: list[str], walker: Walker) -> None:
    """``man -P PAGER`` / ``--pager=PAGER`` / ``--html=BROWSER``: man runs the pager or browser with the shell."""
    for i, arg in enumerate(args):
        if arg in ("-P", "--pager") and i + 1 < len(args):
            text, word = args[i + 1], args[i + 1]
        elif arg.startswith(("--pager=", "--html=")):
            text, word = arg.split("=", 1)[1], arg
        elif arg.startswith("-P") and len(arg) > 2:
            text, word = arg[2:], arg
        else:
            continue
        fx.nested(cmd, text, fx.literal_word(cmd, word), walker, "man -P")


def _tf_cli_args(cmd: Command, env: dict[str, str | None], walker: Walker) -> None:
    """``TF_CLI_ARGS`` goes right after terraform's command (or first, without one); ``TF_CLI_ARGS_<cmd>``
    only applies to that command."""
    for key, value in env.items():
        if not key.startswith("TF_CLI_ARGS") or not value:
            continue
        if value is None or "$" in value or "`" in value:
            cmd.opaque = cmd.opaque or f"${key} adds arguments to terraform computed at run time"
            continue
        try:
            extra = shlex.split(value)
        except ValueError:
            cmd.opaque = cmd.opaque or f"${key} does not parse"
            continue
        words = cmd.argv[1:]
        verb = next((i for i, w in enumerate(words) if not w.startswith("-")), None)
        wanted = key[len("TF_CLI_ARGS_") :] if key.startswith("TF_CLI_ARGS_") else None
        if wanted is not None and (verb is None or words[verb] != wanted):
            continue
        at = 1 + (verb + 1 if verb is not None else 0)
        cmd.argv = [*cmd.argv[:at], *extra, *cmd.argv[at:]]
        cmd.literal = [*cmd.literal[:at], *([True] * len(extra)), *cmd.literal[at:]]
