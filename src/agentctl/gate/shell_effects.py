"""What one simple command does: unwrapping, files read and written, code it runs.

Called by :mod:`agentctl.gate.shell` for every simple command it finds:

* wrappers are peeled off (``sudo``, ``env``, ``command``, ``exec``, ``nice``,
  ``nohup``, ``timeout``, ``time``, ``xargs``…) so ``name`` is what really runs;
* ``bash -c STRING``, ``eval STRING``, ``source FILE``, a script given to a
  shell, heredocs and literal text piped into a shell are parsed recursively;
  what cannot be seen through makes the command ``opaque``;
* ``find -exec`` runs a command of its own; ``find -delete`` writes its roots;
* known writers (``tee cp mv sed -i …``) and readers fill ``writes``/``reads``;
* inline interpreter code (``python -c``, ``perl -e``, ``node -e``…) is opaque
  only when what it shows could run commands or write files.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from typing import TYPE_CHECKING

from agentctl.gate import inline, shell_files, shell_paths, shell_writers

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker

SHELLS = {"bash", "sh", "zsh", "dash", "ksh", "ash", "mksh", "yash", "fish", "rbash"}
SENSITIVE = {"terraform", "tofu", "terragrunt", "kubectl", "oc", "helm", "kubecolor"}
"""Tools whose arguments decide a protected effect: unknown arguments make them opaque."""

_SUDO_VALUED = {"-u", "-g", "-p", "-C", "-r", "-t", "-U", "-D", "-h", "-R", "-T", "--user", "--group"}
_XARGS_VALUED = {"-I", "-n", "-P", "-L", "-l", "-d", "-E", "-e", "-s", "-a", "--arg-file", "--delimiter", "-i"}


def basename(word: str) -> str:
    return word.rstrip("/").rsplit("/", 1)[-1] if "/" in word else word


def output_text(cmd: Command) -> str | None:
    """What a command prints when that is known from the parse (``echo``, ``printf``, ``cat`` of a heredoc)."""
    if cmd.opaque or not all(cmd.literal):
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


def analyse(cmd: Command, walker: Walker) -> None:
    """Unwrap ``cmd`` in place, fill its effects, and add the commands it runs to the walker."""
    argv, literal = cmd.argv, cmd.literal
    expanded: set[str] = set()
    while argv:
        if argv[0] in walker.aliases and literal[0] and argv[0] not in expanded:
            expanded.add(argv[0])
            words = _split(walker.aliases[argv[0]])
            argv, literal = [*words, *argv[1:]], [True] * len(words) + literal[1:]
            cmd.via.append("alias")
            continue
        cmd.argv, cmd.literal = argv, literal
        start = _unwrap(basename(argv[0]), argv, cmd)
        if start is None:
            break
        cmd.via.append(basename(argv[0]))
        argv, literal = argv[start:], literal[start:]
    cmd.argv, cmd.literal = argv, literal
    if not argv:
        return
    name = cmd.name = basename(argv[0])
    if not literal[0] and not cmd.opaque:
        cmd.opaque = f"the command name is computed at run time ({argv[0]})"
    args = argv[1:]
    if name == "alias":
        walker.aliases.update(a.split("=", 1) for a in args if "=" in a)  # type: ignore[misc]
    if "/" in argv[0] and literal[0] and name not in SHELLS:
        _program(cmd, argv[0], walker)
    if name in SHELLS or (name == "busybox" and args[:1] and args[0] in SHELLS):
        _shell(cmd, args[1:] if name == "busybox" else args, walker)
    elif name == "eval":
        _nested(cmd, " ".join(args), all(literal[1:]), walker, "eval")
    elif name in ("source", "."):
        if args:
            cmd.reads.append(args[0])
            _script(cmd, args[0], literal[1], walker)
    elif inline.interpreter(name):
        _interpreter(cmd, name, args, walker)
    elif name == "find":
        _find(cmd, args, walker)
    else:
        if name == "git":
            _git_config(cmd, args, walker)
        shell_files.effects(cmd, name, args, walker)
    if name in SENSITIVE and not all(literal) and not cmd.opaque:
        cmd.opaque = f"{name}'s arguments are computed at run time"


def _unwrap(name: str, argv: list[str], cmd: Command) -> int | None:
    """Where the wrapped command starts in ``argv``, or None if ``argv[0]`` is not a wrapper in use."""
    if name not in _WRAPPERS:
        return None
    n = len(argv)
    if name in ("sudo", "doas"):
        i = 1
        while i < n and argv[i].startswith("-"):
            if argv[i] == "--":
                i += 1
                break
            i += 2 if argv[i] in _SUDO_VALUED else 1
        while i < n and re.match(r"^[A-Za-z_]\w*=", argv[i]):
            i += 1
        return i if i < n else None
    if name == "env":
        i = 1
        while i < n:
            arg = argv[i]
            if arg in ("-C", "--chdir") and i + 1 < n:
                shell_paths.enter(cmd, argv[i + 1], cmd.literal[i + 1])
                i += 2
            elif arg.startswith(("--chdir=", "-C")) and arg != "-C":
                shell_paths.enter(cmd, arg.split("=", 1)[1] if arg.startswith("--") else arg[2:], cmd.literal[i])
                i += 1
            elif arg in ("-u", "--unset"):
                i += 2
            elif arg in ("-S", "--split-string") or arg.startswith(("-S", "--split-string=")):
                text = argv[i + 1] if arg in ("-S", "--split-string") and i + 1 < n else arg.split("=", 1)[-1][2:]
                if arg.startswith("--split-string="):
                    text = arg.split("=", 1)[1]
                rest = argv[i + (2 if arg in ("-S", "--split-string") else 1) :]
                argv[:] = [argv[0], *_split(text), *rest]
                cmd.literal[:] = [True] * len(argv)
                return 1 if len(argv) > 1 else None
            elif arg == "--":
                i += 1
                break
            elif arg.startswith("-") or re.match(r"^[A-Za-z_]\w*=", arg):
                i += 1
            else:
                break
        return i if i < n else None
    if name == "builtin":
        return 1 if n > 1 else None
    if name == "command":
        i = 1
        while i < n and argv[i].startswith("-"):
            if any(f in argv[i] for f in "vV"):
                return None
            i += 1
        return i if i < n else None
    if name == "exec":
        i = 1
        while i < n and argv[i].startswith("-"):
            i += 2 if argv[i] == "-a" else 1
        return i if i < n else None
    if name in ("nice", "ionice", "stdbuf", "time", "nohup", "setsid", "chrt", "taskset", "unbuffer"):
        i = 1
        valued = {"-n", "-c", "-p", "-o", "-f", "-i", "-e", "--adjustment", "--output", "--format"}
        while i < n and argv[i].startswith("-"):
            i += 2 if argv[i] in valued else 1
        if name in ("chrt", "taskset") and i < n:
            i += 1
        return i if i < n else None
    if name == "timeout":
        i = 1
        while i < n and argv[i].startswith("-"):
            i += 2 if argv[i] in ("-s", "-k", "--signal", "--kill-after") else 1
        return i + 1 if i + 1 < n else None
    if name == "xargs":
        return _xargs(argv, cmd)
    if name in _TEXT_RUNNERS:
        return _text_runner(name, argv, cmd)
    if name in ("docker", "podman", "nerdctl"):
        return _container(argv, cmd)
    if name == "watch":
        i = 1
        while i < n and argv[i].startswith("-"):
            i += 2 if argv[i] in ("-n", "--interval", "-d") and i + 1 < n and argv[i + 1][:1].isdigit() else 1
        if i < n and "-x" not in argv[:i]:
            argv[:] = [argv[0], "sh", "-c", " ".join(argv[i:])]
            cmd.literal[:] = [True, True, True, all(cmd.literal[i:])]
            return 1
        return i if i < n else None
    return None


_CONTAINER_VALUED = frozenset({
    "-v", "--volume", "-e", "--env", "--env-file", "-w", "--workdir", "--name", "-p", "--publish", "-u", "--user",
    "--network", "--net", "--mount", "--platform", "-l", "--label", "--add-host", "--cpus", "-m", "--memory",
    "--hostname", "-h", "--restart", "--device", "--cap-add", "--cap-drop", "--security-opt", "--tmpfs", "--ulimit",
    "--log-driver", "--log-opt", "--pull", "--ipc", "--pid", "--dns", "--link", "--volumes-from", "--runtime",
    "--gpus", "--shm-size", "--stop-signal", "--stop-timeout", "--cidfile", "--group-add", "--expose"
})  # fmt: skip
_IMAGE_TOOLS = {"terraform": "terraform", "tofu": "tofu", "opentofu": "tofu", "terragrunt": "terragrunt",
                "kubectl": "kubectl", "k8s-kubectl": "kubectl", "helm": "helm", "k8s-helm": "helm"}  # fmt: skip


def _container(argv: list[str], cmd: Command) -> int | None:
    """``docker run [opts] hashicorp/terraform apply`` runs terraform; ``--entrypoint X`` runs X."""
    i = 1
    if argv[i : i + 2] == ["container", "run"]:
        i += 1
    if i >= len(argv) or argv[i] != "run":
        return None
    i += 1
    entrypoint = None
    shell_writers.bind_mounts(argv, cmd)
    while i < len(argv) and argv[i].startswith("-"):
        if argv[i] == "--entrypoint" and i + 1 < len(argv):
            entrypoint = argv[i + 1]
        elif argv[i].startswith("--entrypoint="):
            entrypoint = argv[i].split("=", 1)[1]
        i += 2 if argv[i] in _CONTAINER_VALUED or argv[i] == "--entrypoint" else 1
    if i >= len(argv):
        return None
    image = argv[i].split("@")[0].rsplit("/", 1)[-1].split(":")[0]
    tool = entrypoint or _IMAGE_TOOLS.get(image)
    if tool is None:
        return None
    argv[:] = [argv[0], tool, *argv[i + 1 :]]
    cmd.literal[:] = [True, True, *cmd.literal[i + 1 :]]
    return 1


def _xargs(argv: list[str], cmd: Command) -> int | None:
    i, n, replace = 1, len(argv), None
    while i < n and argv[i].startswith("-"):
        arg = argv[i]
        if arg == "-I" and i + 1 < n:
            replace = argv[i + 1]
        elif arg.startswith("-I") and len(arg) > 2:
            replace = arg[2:]
        elif arg.startswith(("-i", "--replace")):
            replace = arg.split("=", 1)[1] if "=" in arg else "{}"
        i += 2 if arg in _XARGS_VALUED - {"-i"} else 1
    rest = argv[i:] or ["echo"]
    rest_literal = cmd.literal[i:] or [True]
    items = cmd.stdin.split() if cmd.stdin is not None else None
    if items is None and cmd.feed is not None and cmd.feed.name == "find" and not cmd.feed.opaque:
        items = shell_writers.find_output(cmd.feed.argv[1:])
    if items is None:
        items, known = ["$(stdin)"], False
    else:
        known = True
    if replace is not None:
        rest = [w.replace(replace, " ".join(items)) for w in rest]
    else:
        rest = [*rest, *items]
        rest_literal = [*rest_literal, *([known] * len(items))]
    argv[:] = [argv[0], *rest]
    cmd.literal[:] = [True, *rest_literal[: len(rest)], *([known] * max(0, len(rest) - len(rest_literal)))]
    return 1


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def _nested(cmd: Command, text: str, literal: bool, walker: Walker, label: str) -> None:
    if not literal:
        cmd.opaque = cmd.opaque or f"{label} runs text computed at run time"
        return
    saved = (walker.cwd, walker.alts)
    walker.cwd, walker.alts = cmd.cwd, list(cmd.alt_cwds)
    walker.run(text, [*cmd.via, label], walker.depth + 1)
    walker.cwd, walker.alts = saved


def _script(cmd: Command, path: str, literal: bool, walker: Walker) -> None:
    """A shell runs a script file: parse it when it can be read, else say why not."""
    if not literal:
        cmd.code_from = cmd.code_from or ["(computed path)"]
        cmd.opaque = cmd.opaque or "runs code from a path or stream computed at run time"
        return
    writers = [c for c in walker.out if c is not cmd and path in c.writes]
    if writers:
        cmd.code_from += [w.name for w in writers if w.name not in cmd.code_from]
        cmd.opaque = cmd.opaque or f"runs the script {path}, written by the same command"
        return
    text = walker.read_file(posixpath.join(cmd.cwd, path) if cmd.cwd else path) if walker.read_file else None
    if text is not None:
        _nested(cmd, text, True, walker, f"{cmd.name} {path}")


_GIT_COMMAND_KEYS = re.compile(
    r"^(core\.(pager|sshcommand|editor|fsmonitor|hookspath|askpass)|sequence\.editor|diff\.external|"
    r"credential\.helper|(diff|merge|filter)\..*\.(command|textconv|driver|clean|smudge|process)|pager\..*)$",
    re.IGNORECASE,
)


def _git_config(cmd: Command, args: list[str], walker: Walker) -> None:
    """``git -c alias.x='!cmd' x`` and ``-c core.pager=cmd`` make git run shell commands."""
    for i, arg in enumerate(args[:-1]):
        if arg != "-c" or "=" not in args[i + 1]:
            continue
        key, value = args[i + 1].split("=", 1)
        if key.lower().startswith("alias.") and value.startswith("!"):
            _nested(cmd, value[1:], cmd.literal[i + 2] if i + 2 < len(cmd.literal) else False, walker, "git alias")
        elif _GIT_COMMAND_KEYS.match(key):
            cmd.opaque = cmd.opaque or f"git runs the command set by -c {key}"


def _program(cmd: Command, path: str, walker: Walker) -> None:
    """``./x``: a program written by the same command is opaque; a shell script is read and parsed."""
    target = posixpath.normpath(path)
    for other in walker.out:
        mode_only = other.name in ("chmod", "touch", "mkdir", "chown")
        if other is not cmd and not mode_only and target in (posixpath.normpath(w) for w in other.writes):
            cmd.code_from += [other.name] if other.name not in cmd.code_from else []
            cmd.opaque = cmd.opaque or f"runs {path}, written by the same command"
            return
    text = walker.read_file(posixpath.join(cmd.cwd, path) if cmd.cwd else path) if walker.read_file else None
    first = text.split("\n", 1)[0] if text else ""
    if text is not None and (path.endswith(".sh") or re.match(r"#!.*\b(ba|z|da|k|mk)?sh\b", first)):
        _nested(cmd, text, True, walker, path)


def _shell(cmd: Command, args: list[str], walker: Walker) -> None:
    c_mode, s_mode, i = False, False, 0
    literal = cmd.literal[1:]
    while i < len(args):
        arg = args[i]
        if arg == "--":
            i += 1
            break
        if arg in ("-o", "+o", "--rcfile", "--init-file", "-O", "+O"):
            i += 2
            continue
        if arg[:1] in "-+" and len(arg) > 1:
            c_mode |= arg.startswith("-") and not arg.startswith("--") and "c" in arg[1:]
            s_mode |= arg.startswith("-") and not arg.startswith("--") and "s" in arg[1:]
            i += 1
            continue
        break
    if i < len(args) and (c_mode or not s_mode):
        if c_mode:
            _nested(cmd, args[i], literal[i], walker, f"{cmd.name} -c")
        else:
            cmd.reads.append(args[i])
            _script(cmd, args[i], literal[i], walker)
        return
    if cmd.reads and cmd.stdin is None:  # ``bash < script.sh``
        _script(cmd, cmd.reads[0], True, walker)
        return
    _stdin_code(cmd, walker, lambda text: _nested(cmd, text, True, walker, f"{cmd.name} <stdin>"))


def _stdin_code(cmd: Command, walker: Walker, judge: object) -> None:
    if cmd.stdin is not None:
        judge(cmd.stdin)  # type: ignore[operator]
    elif cmd.stdin_names:
        cmd.code_from += [n for n in cmd.stdin_names if n not in cmd.code_from]
        cmd.opaque = cmd.opaque or f"runs code read from a pipe ({' | '.join(cmd.stdin_names)})"


def _interpreter(cmd: Command, name: str, args: list[str], walker: Walker) -> None:
    code, script, rest = inline.split_args(name, args)
    literal = dict(zip(cmd.argv[1:], cmd.literal[1:], strict=False))
    if code is not None:
        if not all(literal.get(part, True) for part in code):
            cmd.opaque = cmd.opaque or f"{name} runs inline code computed at run time"
            return
        _judge_code(cmd, name, "\n".join(code))
    elif code is None and script is None and rest[:1] == ["-m"]:
        cmd.reads += [a for a in rest[2:] if not a.startswith("-")]  # ``python -m json.tool FILE``
    elif script is not None and script != "-":
        cmd.reads.append(script)
        cmd.reads += [a for a in rest if not a.startswith("-") and a != script]  # a script's file arguments
        if not literal.get(script, True):
            _script(cmd, script, False, walker)
        elif any(script in c.writes for c in walker.out if c is not cmd):
            _script(cmd, script, True, walker)
    else:
        _stdin_code(cmd, walker, lambda text: _judge_code(cmd, name, text))
    if name.startswith("perl") or name.startswith("ruby"):
        flags = [a for a in args if a.startswith("-") and not a.startswith("--")]
        if any("i" in f[1:] and not f.startswith(("-e", "-E")) for f in flags):
            cmd.writes += [a for a in rest if not a.startswith("-")]
    cmd.reads += [a for a in rest if not a.startswith("-") and name.startswith(("perl", "ruby"))]


def _judge_code(cmd: Command, name: str, code: str) -> None:
    verdict = inline.judge(name, code)
    cmd.reads += verdict.reads
    cmd.writes += verdict.writes
    if verdict.opaque:
        cmd.opaque = cmd.opaque or verdict.opaque


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

                sub = Cmd(argv=inner, literal=[True] * len(inner), cwd=cmd.cwd, via=[*cmd.via, f"find {arg}"])
                sub.alt_cwds = list(cmd.alt_cwds)
                walker.out.append(sub)
                analyse(sub, walker)
            i = j
        i += 1


_TEXT_RUNNERS = {
    # name: options that take a value (before the command); a -c TEXT option runs TEXT with a shell
    "su": frozenset({"-s", "--shell", "-g", "--group", "-G", "--supp-group", "-w", "--whitelist-environment"}),
    "runuser": frozenset({"-u", "--user", "-s", "--shell", "-g", "--group", "-G", "--supp-group", "-w"}),
    "script": frozenset({"-E", "--echo", "-I", "--log-in", "-O", "--log-out", "-B", "--log-io", "-T", "-t",
                         "--log-timing", "-m", "--logging-format", "-o", "--output-limit"}),
    "flock": frozenset({"-w", "--timeout", "-E", "--conflict-exit-code"}),
    "strace": frozenset({"-o", "-e", "-p", "-s", "-u", "-a", "-b", "-E", "-P", "-I", "-X", "-O", "-S"}),
    "ltrace": frozenset({"-o", "-e", "-p", "-s", "-u", "-a", "-E", "-n", "-l", "-w"}),
    "unshare": frozenset({"-S", "--setuid", "-G", "--setgid", "-R", "--root", "-w", "--wd"}),
}  # fmt: skip
"""Programs that run another command: as a -c TEXT shell string, or as the words after their options."""


def _text_runner(name: str, argv: list[str], cmd: Command) -> int | None:
    n = len(argv)
    valued = _TEXT_RUNNERS[name]
    i = 1
    while i < n:
        arg = argv[i]
        text_at = None
        if arg in ("-c", "--command"):
            text_at = i + 1
        elif arg.startswith("--command="):
            argv[:] = [argv[0], "sh", "-c", arg.split("=", 1)[1]]
            cmd.literal[:] = [True, True, True, cmd.literal[i]]
            return 1
        elif re.match(r"^-[A-Za-z]*c$", arg) and name in ("su", "runuser", "script"):
            text_at = i + 1
        if text_at is not None:
            if text_at >= n:
                return None
            literal = cmd.literal[text_at]
            argv[:] = [argv[0], "sh", "-c", argv[text_at]]
            cmd.literal[:] = [True, True, True, literal]
            return 1
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            if name == "flock" and i + 1 < n and not argv[i + 1].startswith("-"):
                return i + 1  # flock FILE COMMAND...
            if name == "flock":
                i += 1  # flock FILE -c TEXT
                continue
            if name in ("su", "script") or (name == "runuser" and not {"-u", "--user"} & {*argv[1:i]}):
                i += 1  # su USER / runuser USER / script FILE: the command only comes with -c
                continue
            break
        i += 2 if arg in valued else 1
    if name in ("su", "script"):
        return None
    return i if i < n else None


_WRAPPERS = frozenset({
    "docker", "podman", "nerdctl", "sudo", "doas", "env", "builtin", "command", "exec", "nice", "ionice", "stdbuf",
    "time", "nohup", "setsid", "chrt", "taskset", "unbuffer", "timeout", "xargs", "watch", *_TEXT_RUNNERS
})  # fmt: skip
