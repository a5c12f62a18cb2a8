"""Programs that run commands given as text: in an argument, a script language or the environment.

Called by :mod:`agentctl.gate.shell_effects` for every unwrapped command. The
command text these programs run is parsed like any other shell text (so
``tmux new -d 'terraform apply'`` is ``terraform apply``); text that is computed
at run time makes the command ``opaque``:

* the environment: ``GIT_PAGER``/``PAGER``/``GIT_SSH_COMMAND``/``EDITOR``… hold
  shell commands, ``GIT_CONFIG_COUNT`` pairs define git aliases, ``BASH_ENV``
  and ``ENV`` name scripts every shell sources;
* ``trap 'cmd' SIG``, ``tmux``, ``at``/``batch``, GNU ``parallel``, ``ssh HOST cmd``;
* editors' ex commands (``vim -c '!cmd'``), ``awk`` and ``sed`` programs (see
  :mod:`agentctl.gate.shell_textproc`), ``tar --checkpoint-action=exec=…``;
* git's ``bisect run``, ``rebase --exec``, ``submodule foreach``, ``filter-branch``.
"""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING

from agentctl.gate import shell_effects as fx
from agentctl.gate import (
    shell_entries,
    shell_optruns,
    shell_projects,
    shell_python,
    shell_settings,
    shell_textproc,
    shell_wrappers,
)

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker

ENV_COMMANDS = frozenset({
    "GIT_PAGER", "PAGER", "MANPAGER", "SYSTEMD_PAGER", "GIT_SSH_COMMAND", "GIT_SSH", "GIT_EXTERNAL_DIFF",
    "GIT_EDITOR", "GIT_SEQUENCE_EDITOR", "EDITOR", "VISUAL", "GIT_ASKPASS", "SSH_ASKPASS", "SUDO_ASKPASS",
    "GIT_PROXY_COMMAND", "LESSOPEN", "LESSCLOSE", "PROMPT_COMMAND", "BROWSER",
})  # fmt: skip
"""Variables whose value a program runs as a shell command."""
ENV_SCRIPTS = frozenset({"BASH_ENV", "ENV"})
"""Variables naming a script that every (non-interactive bash / interactive sh) shell sources first."""
ENV_OPAQUE = frozenset({"LD_PRELOAD", "LD_AUDIT", "GIT_CONFIG_PARAMETERS", "GIT_EXEC_PATH", "PERL5OPT", "RUBYOPT"})
_GIT_CONFIG_FILES = frozenset({"GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG"})
WATCHED = ENV_COMMANDS | ENV_SCRIPTS | ENV_OPAQUE | _GIT_CONFIG_FILES | {"GIT_CONFIG_COUNT", "NODE_OPTIONS", "GIT_DIR"}
WATCHED |= shell_settings.WATCHED
_OWN_GIT_DIR = frozenset({".git", "./.git"})

GIT_COMMAND_KEYS = re.compile(
    r"^(core\.(pager|sshcommand|editor|fsmonitor|hookspath|askpass)|sequence\.editor|diff\.external|"
    r"credential\.helper|(diff|merge|filter)\..*\.(command|textconv|driver|clean|smudge|process)|pager\..*)$",
    re.IGNORECASE,
)


def environment(cmd: Command, env: dict[str, str | None], walker: Walker) -> None:
    """Judge what the variables given to ``cmd`` (``X=v cmd``, ``env X=v``, ``export X=v``) make programs run."""
    shell_settings.environment(cmd, env, walker)
    for key, value in env.items():
        if key not in WATCHED or key in shell_settings.WATCHED:
            continue
        computed = value is None or "$" in value or "`" in value
        if key in ENV_COMMANDS:
            text = (value or "").lstrip("|").replace("%s", "FILE") if key.startswith("LESS") else value or ""
            fx.nested(cmd, text, not computed, walker, f"${key}")
        elif key in ENV_SCRIPTS:
            if key == "ENV" and computed and cmd.name not in fx.SHELLS:
                continue  # ENV is only read by an interactive sh; ENV=$STAGE app is an app setting
            fx.script(cmd, value or "", not computed, walker)
        elif key in _GIT_CONFIG_FILES:
            if value != "/dev/null":
                cmd.opaque = cmd.opaque or f"git reads its settings (aliases, pager, hooks) from ${key}"
        elif key == "NODE_OPTIONS":
            if computed or re.search(r"(^|\s)(-r|--require|--import|--loader|--experimental-loader)\b", value or ""):
                cmd.opaque = cmd.opaque or "NODE_OPTIONS loads code into every node process"
        elif key == "GIT_DIR":
            if value not in _OWN_GIT_DIR:
                cmd.opaque = cmd.opaque or "$GIT_DIR points git at another git directory (its hooks and settings)"
        elif key == "GIT_CONFIG_COUNT":
            _git_config_env(cmd, env, walker)
        elif value:
            cmd.opaque = cmd.opaque or f"${key} changes what programs load or run"


def _git_config_env(cmd: Command, env: dict[str, str | None], walker: Walker) -> None:
    count = env.get("GIT_CONFIG_COUNT") or ""
    if not count.isdigit():
        cmd.opaque = cmd.opaque or "GIT_CONFIG_COUNT is computed at run time"
        return
    for index in range(min(int(count), 64)):
        key = env.get(f"GIT_CONFIG_KEY_{index}", walker.exported.get(f"GIT_CONFIG_KEY_{index}"))
        value = env.get(f"GIT_CONFIG_VALUE_{index}", walker.exported.get(f"GIT_CONFIG_VALUE_{index}"))
        if key is None or value is None:
            cmd.opaque = cmd.opaque or f"git setting {index} from the environment is not known"
            continue
        git_setting(cmd, key, value, "$" not in key + value, walker)


def git_setting(cmd: Command, key: str, value: str, literal: bool, walker: Walker) -> None:
    """A git setting given for one command (``-c``, ``GIT_CONFIG_*``): aliases and commands it runs."""
    shell_settings.git_setting(cmd, key, value, literal, walker)
    if key.lower().startswith("alias.") and value.startswith("!"):
        fx.nested(cmd, value[1:], literal, walker, "git alias")
    elif GIT_COMMAND_KEYS.match(key):
        cmd.opaque = cmd.opaque or f"git runs the command set by {key}"


def handles(name: str) -> bool:
    """Whether :func:`run` judges ``name`` (a program that runs other commands or code)."""
    return name in _HANDLERS


def run(cmd: Command, name: str, args: list[str], walker: Walker) -> bool:
    """Judge the commands ``cmd`` runs from its arguments; True when its arguments are not files to read."""
    handler = _HANDLERS.get(name)
    if handler is None:
        return False
    return handler(cmd, args, walker) is not False


def _trap(cmd: Command, args: list[str], walker: Walker) -> None:
    """``trap 'cmd' EXIT`` runs cmd later in this shell."""
    if args[:1] == ["--"]:  # ``trap -- 'cmd' RETURN``
        args = args[1:]
    if len(args) >= 2 and args[0] not in ("-", "", "-p", "-l"):
        fx.nested(cmd, args[0], fx.literal_word(cmd, args[0]), walker, "trap")


_TMUX_RUNS = {
    "new-session": "cefFnstxy", "new": "cefFnstxy", "new-window": "cefFnt", "neww": "cefFnt",
    "split-window": "celtF", "splitw": "celtF", "respawn-pane": "cet", "respawnp": "cet",
    "respawn-window": "cet", "respawnw": "cet", "run-shell": "dct", "run": "dct",
    "display-popup": "bcdehsStTwxy", "popup": "bcdehsStTwxy", "pipe-pane": "t", "pipep": "t",
    "if-shell": "t", "if": "t",
}  # fmt: skip
"""tmux commands that run a shell command, with their options that take a value."""


def _tmux(cmd: Command, args: list[str], walker: Walker) -> None:
    i = 0
    while i < len(args) and args[i].startswith("-"):
        if args[i] == "-c" and i + 1 < len(args):
            fx.nested(cmd, args[i + 1], fx.literal_word(cmd, args[i + 1]), walker, "tmux -c")
        i += 2 if args[i] in ("-c", "-f", "-L", "-S", "-T") else 1
    group: list[str] = []
    for word in [*args[i:], ";"]:
        if word not in (";", "\\;"):
            group.append(word)
            continue
        if group:
            _tmux_command(cmd, group, walker)
        group = []


def _tmux_command(cmd: Command, words: list[str], walker: Walker) -> None:
    sub, rest = words[0], words[1:]
    if sub in ("send-keys", "send", "send-prefix"):
        typed = [w for w in rest if not w.startswith("-") and not re.fullmatch(r"([CMS]-.+|Enter|Escape|Space|Tab)", w)]
        if typed:
            cmd.opaque = cmd.opaque or "tmux send-keys types into a session agentctl cannot see"
        return
    valued = _TMUX_RUNS.get(sub)
    if valued is None:
        return
    i = 0
    while i < len(rest) and rest[i].startswith("-") and rest[i] != "-":
        i += 2 if rest[i][-1] in valued else 1
    if i < len(rest):
        text = rest[i] if len(rest) == i + 1 else shlex.join(rest[i:])
        fx.nested(cmd, text, all(fx.literal_word(cmd, w) for w in rest[i:]), walker, f"tmux {sub}")


def _at(cmd: Command, args: list[str], walker: Walker) -> None:
    """``at``/``batch`` run the shell commands on their input (or in ``-f FILE``) later."""
    if any(a in ("-l", "-r", "-d", "-c", "-V") for a in args):
        return
    script = next((args[i + 1] for i, a in enumerate(args[:-1]) if a == "-f"), None)
    if script is not None:
        fx.script(cmd, script, fx.literal_word(cmd, script), walker)
    else:
        fx.stdin_code(cmd, walker, lambda text: fx.nested(cmd, text, True, walker, f"{cmd.name} <stdin>"))


_PARALLEL_VALUED = frozenset({
    "-j", "--jobs", "-P", "-S", "--sshlogin", "--slf", "--sshloginfile", "-N", "-n", "--max-args", "-L",
    "--max-lines", "-l", "-d", "--delimiter", "-E", "--eof", "-a", "--arg-file", "--colsep", "-C", "--joblog",
    "--results", "--res", "--tmpdir", "--delay", "--timeout", "--retries", "--env", "--workdir", "--wd",
    "--tagstring", "--tag-string", "--halt", "--memfree", "--load", "--nice", "--block", "--basefile", "--bf",
    "--return", "--transferfile", "--tf", "--sshdelay", "-s", "--max-chars", "--shebang-wrap",
})  # fmt: skip


def _parallel(cmd: Command, args: list[str], walker: Walker) -> None:
    """GNU parallel: a command template run (through a shell) once per input item."""
    i = 0
    while i < len(args) and args[i].startswith("-") and not args[i].startswith(":::"):
        i += 2 if args[i] in _PARALLEL_VALUED else 1
    seps = [j for j in range(i, len(args)) if args[j] in (":::", ":::+", "::::", "::::+")]
    template = args[i : seps[0] if seps else len(args)]
    items: list[str] | None = []
    for at, sep in enumerate(seps):
        values = args[sep + 1 : seps[at + 1] if at + 1 < len(seps) else len(args)]
        if args[sep].startswith("::::"):
            items = None  # argument files: not known here
        elif items is not None:
            items += values
    if not seps:
        items = cmd.stdin.splitlines() if cmd.stdin is not None else None
    literal = all(fx.literal_word(cmd, w) for w in args)
    if items is None:
        if not template:
            fx.stdin_code(cmd, walker, lambda text: fx.nested(cmd, text, True, walker, "parallel <stdin>"))
            if cmd.stdin is None and not cmd.stdin_names:
                cmd.opaque = cmd.opaque or "parallel runs commands from input agentctl cannot see"
            return
        items = ['"$PARALLEL_ITEM"']  # an unknown item: a computed word in the command it builds
    if "--pipe" in args[:i] or "--pipepart" in args[:i]:  # the input, in blocks, is each job's standard input
        if reads_stdin_code(template):
            feed_shell(cmd, walker, "parallel --pipe <stdin>")
        items = [""]
    for item in items[:32] or [""]:
        words = [w.replace("{}", item) for w in template] if any("{}" in w for w in template) else [*template, item]
        fx.nested(cmd, " ".join(words).strip(), literal, walker, "parallel")


def feed_shell(cmd: Command, walker: Walker, label: str) -> None:
    """A shell at the other end runs ``cmd``'s standard input: a pipe, a heredoc, or a file (``< x.sh``)."""
    if cmd.stdin is None and not cmd.stdin_names and cmd.reads:
        fx.script(cmd, cmd.reads[0], True, walker)
    else:
        fx.stdin_code(cmd, walker, lambda text: fx.nested(cmd, text, True, walker, label))


def reads_stdin_code(words: list[str]) -> bool:
    """``bash``, ``sh -s``, ``python3 -``: a command that runs the code on its standard input."""
    if not words:
        return False
    name = fx.basename(words[0])
    rest = words[1:]
    if name in fx.SHELLS:
        return not any(re.fullmatch(r"-[A-Za-z]*c[A-Za-z]*", w) for w in rest) and all(
            w.startswith(("-", "+")) for w in rest
        )
    return shell_interpreter(name) and all(w.startswith("-") and w not in ("-c", "-e", "-m") for w in rest)


def shell_interpreter(name: str) -> bool:
    from agentctl.gate import inline

    return inline.interpreter(name)


_SSH_VALUED = frozenset("BbcDEeFIiJLlmOopQRSWw")


def _ssh(cmd: Command, args: list[str], walker: Walker) -> None:
    """``ssh HOST cmd…``: the remote shell runs cmd (on whatever host: still this agent's action)."""
    i, host = 0, None
    while i < len(args):
        arg = args[i]
        if arg.startswith("-") and len(arg) > 1:
            option = args[i + 1] if len(arg) == 2 and arg[1] in _SSH_VALUED and i + 1 < len(args) else arg[2:]
            if arg[1] == "o" and re.match(r"(?i)(proxycommand|localcommand|knownhostscommand)\s*=?", option):
                fx.nested(
                    cmd, re.split(r"\s*=\s*|\s+", option, maxsplit=1)[-1], fx.literal_word(cmd, option), walker, "ssh"
                )
            i += 2 if len(arg) == 2 and arg[1] in _SSH_VALUED else 1
            continue
        host = arg
        break
    if host is None:
        return
    rest = args[i + 1 :]
    if rest:
        fx.nested(cmd, " ".join(rest), all(fx.literal_word(cmd, w) for w in rest), walker, f"ssh {host}")
        if reads_stdin_code(shell_wrappers.split(" ".join(rest))):  # ``… | ssh host bash``: what ssh reads
            feed_shell(cmd, walker, f"ssh {host} <stdin>")
    else:
        feed_shell(cmd, walker, f"ssh {host} <stdin>")  # the login shell runs what ssh reads


_EX_RISKY = re.compile(
    r"\b(sys(tem(list)?)?|ter(m(inal)?)?|py(thon)?3?|pyx|pyf(ile)?|py3f(ile)?|lua(file)?|perl|ruby|tcl|mz|"
    r"so(urce)?|exe(cute)?|cal(l)?|norm(al)?|redir|job_?start|libcall|rubyfile|perlfile|let|au(tocmd)?)\b"
)
_EX_BANG = re.compile(r"^[\s:]*[%.,$\d'<>+\-]*\s*(?:r(?:ead)?|w(?:rite)?)?\s*!(.*)$", re.DOTALL)


def ex_commands(cmd: Command, texts: list[str], walker: Walker) -> None:
    """Ex commands (``vim -c``, ``+cmd``): ``!cmd`` runs cmd; scripting commands are opaque."""
    for text in texts:
        for part in text.split("|"):
            bang = _EX_BANG.match(part)
            if bang and not re.match(r"^[\s:]*(wq?|x|q|qa|wqa|xa)!", part):
                fx.nested(cmd, bang.group(1), fx.literal_word(cmd, text), walker, "ex !")
            elif _EX_RISKY.search(part):
                cmd.opaque = cmd.opaque or f"the editor runs ex commands agentctl cannot see through ({part.strip()})"


def _editor(cmd: Command, args: list[str], walker: Walker) -> bool:
    texts = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-c", "--cmd")]
    texts += [a[1:] for a in args if a.startswith("+") and len(a) > 1 and not a[1:].isdigit()]
    ex_commands(cmd, texts, walker)
    for i, arg in enumerate(args[:-1]):
        if arg in ("-S", "-u", "-U") and args[i + 1] not in ("NONE", "NORC", "DEFAULTS"):
            cmd.opaque = cmd.opaque or f"the editor runs the script file {args[i + 1]}"
    return False  # the files it names are still written


_TAR_RUNS = ("--checkpoint-action", "--to-command", "--use-compress-program", "--info-script", "--new-volume-script",
             "--rsh-command", "--rmt-command", "-I", "-F")  # fmt: skip


def _tar(cmd: Command, args: list[str], walker: Walker) -> bool:
    for i, arg in enumerate(args):
        key, _, value = arg.partition("=")
        if key not in _TAR_RUNS:
            continue
        if not _ and i + 1 < len(args):
            value = args[i + 1]
        if key == "--checkpoint-action":
            if not value.startswith("exec="):
                continue
            value = value[5:]
        fx.nested(
            cmd, value, fx.literal_word(cmd, arg) and (bool(_) or fx.literal_word(cmd, value)), walker, f"tar {key}"
        )
    return False


_GIT_RUNS: dict[str, tuple[str, ...]] = {
    "rebase": ("--exec", "-x"),
    "filter-branch": ("--tree-filter", "--index-filter", "--msg-filter", "--env-filter", "--commit-filter",
                      "--parent-filter", "--tag-name-filter"),
    "difftool": ("-x", "--extcmd"),
}  # fmt: skip
"""git commands that run an option's value as a shell command."""


def _git(cmd: Command, args: list[str], walker: Walker) -> bool:
    from agentctl.engine.argv import args as positional

    for i, arg in enumerate(args):  # global options: ``--git-dir DIR`` uses that directory's hooks and settings
        if not arg.startswith("-"):
            break
        if arg.startswith("--git-dir"):
            value = arg.split("=", 1)[1] if "=" in arg else args[i + 1] if i + 1 < len(args) else ""
            if value not in _OWN_GIT_DIR:
                cmd.opaque = cmd.opaque or "git --git-dir points at another git directory (its hooks and settings)"
    if "-c" in args:
        for i, arg in enumerate(args[:-1]):
            if arg == "-c" and "=" in args[i + 1]:
                key, value = args[i + 1].split("=", 1)
                git_setting(cmd, key, value, fx.literal_word(cmd, args[i + 1]), walker)
    if not _GIT_RUNS.keys() & set(args) and "bisect" not in args and "submodule" not in args:
        return False  # the common case: no subcommand that runs a command
    pos = positional(["git", *args])
    sub = pos[0] if pos else ""
    texts: list[str] = []
    if sub == "bisect" and pos[1:2] == ["run"]:
        at = args.index("run")
        texts.append(shlex.join(args[at + 1 :]))
    elif sub == "submodule" and "foreach" in pos:
        at = args.index("foreach")
        rest = [a for a in args[at + 1 :] if a not in ("--recursive", "-q", "--quiet")]
        texts.append(" ".join(rest))
    else:
        valued = _GIT_RUNS.get(sub, ())
        for i, arg in enumerate(args):
            key, eq, value = arg.partition("=")
            if key in valued:
                texts.append(value if eq else args[i + 1] if i + 1 < len(args) else "")
    for text in texts:
        fx.nested(cmd, text, all(cmd.literal), walker, f"git {sub}")
    return False


_HANDLERS = {
    **shell_optruns.HANDLERS,
    **shell_entries.HANDLERS,
    **shell_python.HANDLERS,
    **shell_projects.HANDLERS,
    "trap": _trap,
    "tmux": _tmux,
    "at": _at,
    "batch": _at,
    "parallel": _parallel,
    "ssh": _ssh,
    **dict.fromkeys(("vi", "vim", "nvim", "ex", "view", "gvim", "vimdiff", "rvim", "evim"), _editor),
    **dict.fromkeys(("awk", "gawk", "mawk", "nawk"), shell_textproc.awk),
    "sed": shell_textproc.sed,
    "gsed": shell_textproc.sed,
    "tar": _tar,
    "gtar": _tar,
    "git": _git,
}
