"""Wrappers: programs that run the command given as their arguments (``sudo``, ``env``, ``xargs``…).

:func:`unwrap` says where the wrapped command starts in an argv, so
:mod:`agentctl.gate.shell_effects` can peel wrappers off until ``name`` is what
really runs. Some wrappers rewrite the argv on the way (``xargs`` appends its
input, ``docker run IMAGE`` becomes the image's tool, ``su -c TEXT`` becomes
``sh -c TEXT``).
"""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING

from agentctl.gate import shell_launchers, shell_paths, shell_writers

if TYPE_CHECKING:
    from agentctl.gate.shell import Command

_SUDO_VALUED = {"-u", "-g", "-p", "-C", "-r", "-t", "-U", "-D", "-h", "-R", "-T", "--user", "--group"}
_XARGS_VALUED = {"-I", "-n", "-P", "-L", "-l", "-d", "-E", "-e", "-s", "-a", "--arg-file", "--delimiter", "-i"}


def split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def unwrap(name: str, argv: list[str], cmd: Command) -> int | None:
    """Where the wrapped command starts in ``argv``, or None if ``argv[0]`` is not a wrapper in use."""
    if name not in WRAPPERS:
        return None
    if name in shell_launchers.LAUNCHERS:
        return shell_launchers.locate(name, argv, cmd)
    n = len(argv)
    if name in ("sudo", "doas"):
        i = 1
        while i < n and argv[i].startswith("-"):
            if argv[i] == "--":
                i += 1
                break
            i += 2 if argv[i] in _SUDO_VALUED else 1
        while i < n and re.match(r"^[A-Za-z_]\w*=", argv[i]):
            _assign(cmd, argv[i], i)
            i += 1
        shell = any(re.fullmatch(r"-[A-Za-z]*[si][A-Za-z]*", a) or a in ("--shell", "--login") for a in argv[1:i])
        if i >= n and shell:  # ``sudo -s`` / ``sudo -i``: a shell that reads its standard input
            argv[:] = [argv[0], "sh"]
            cmd.literal[:] = [True, True]
            return 1
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
                argv[:] = [argv[0], *split(text), *rest]
                cmd.literal[:] = [True] * len(argv)
                return 1 if len(argv) > 1 else None
            elif arg == "--":
                i += 1
                break
            elif arg.startswith("-") or re.match(r"^[A-Za-z_]\w*=", arg):
                if not arg.startswith("-"):
                    _assign(cmd, arg, i)
                i += 1
            else:
                break
        return i if i < n else None
    if name in ("builtin", "busybox", "toybox"):  # ``busybox run-parts DIR`` is run-parts
        return 1 if n > 1 and not argv[1].startswith("-") else None
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
    if name in _SIMPLE:
        valued, positional = _SIMPLE[name]
        i = 1
        while i < n and argv[i].startswith("-") and argv[i] != "-":
            if argv[i] == "--":
                i += 1
                break
            if argv[i] in ("-p", "--pid") and name in ("chrt", "taskset", "ionice"):
                return None  # acts on a running process, runs nothing
            i += 2 if argv[i] in valued else 1
        i += positional  # ``chrt PRIORITY cmd``, ``taskset MASK cmd``
        return i if i < n else None
    if name == "coproc":  # ``coproc cmd`` / ``coproc NAME { cmd; }``
        i = 2 if argv[1:2] in (["{"], ["("]) else 3 if n > 2 and argv[2] in ("{", "(") else 1
        return i if i < n else None
    if name == "screen":
        return _screen(argv, cmd)
    if name in ("microk8s", "k3s", "k0s") and argv[1:2] == ["kubectl"]:
        return 1
    if name == "minikube" and "kubectl" in argv[1:]:
        at = argv.index("kubectl")
        rest = argv[at + 1 :]
        rest = rest[1:] if rest[:1] == ["--"] else rest
        profile = any(a in ("-p", "--profile") or a.startswith("--profile=") for a in argv[1:at])
        argv[:] = [argv[0], "kubectl", *([] if profile else ["--context=minikube"]), *rest]
        cmd.literal[:] = [True] * len(argv)  # minikube's own cluster is local (its profile's context)
        return 1
    if name == "timeout":
        i = 1
        while i < n and argv[i].startswith("-"):
            i += 2 if argv[i] in ("-s", "-k", "--signal", "--kill-after") else 1
        return i + 1 if i + 1 < n else None
    if name == "xargs":
        return _xargs(argv, cmd)
    if name in _TEXT_RUNNERS:
        return _text_runner(name, argv, cmd)
    if name in ("docker", "podman", "nerdctl", "docker-compose", "podman-compose"):
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


_SIMPLE: dict[str, tuple[frozenset[str], int]] = {
    # name: (options that take a value, positional words before the command)
    "nice": (frozenset({"-n", "--adjustment"}), 0),
    "ionice": (frozenset({"-c", "-n", "--class", "--classdata"}), 0),
    "stdbuf": (frozenset({"-i", "-o", "-e", "--input", "--output", "--error"}), 0),
    "time": (frozenset({"-f", "-o", "--format", "--output"}), 0),
    "nohup": (frozenset(), 0),
    "setsid": (frozenset(), 0),
    "unbuffer": (frozenset(), 0),
    "chrt": (frozenset({"-T", "-P", "-D", "--sched-runtime", "--sched-period", "--sched-deadline"}), 1),
    "taskset": (frozenset(), 1),  # ``-c`` only says the mask is a CPU list
}
"""Simple wrappers: their options, then the command."""


def _assign(cmd: Command, word: str, _index: int) -> None:
    """``env X=1 cmd`` / ``sudo X=1 cmd``: the wrapped command's environment."""
    key, value = word.split("=", 1)
    cmd.assigned[key] = value


_SCREEN_VALUED = frozenset({"-S", "-t", "-c", "-e", "-h", "-p", "-T", "-s", "-Logfile"})


def _screen(argv: list[str], cmd: Command) -> int | None:
    """``screen -dm cmd…`` runs cmd; ``screen -X stuff TEXT`` types into a session (opaque)."""
    i, n = 1, len(argv)
    while i < n and argv[i].startswith("-"):
        if argv[i] == "-X":
            rest = argv[i + 1 :]
            if rest[:1] in (["stuff"], ["exec"], ["screen"], ["eval"]):
                cmd.opaque = cmd.opaque or f"screen -X {rest[0]} runs text in another session"
            return None
        if argv[i] in ("-ls", "-list", "-r", "-R", "-x", "-wipe", "-v", "-version"):
            return None
        i += 2 if argv[i] in _SCREEN_VALUED or re.fullmatch(r"-[dmADRrqUaiOlL]+[Stcehps]", argv[i]) else 1
    return i if i < n else None


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
    for at, arg in enumerate(argv[:-1]):  # ``--env-file .env`` (run, compose): its secrets reach the container
        if arg == "--env-file":
            cmd.reads.append(argv[at + 1])
    cmd.reads += [a.split("=", 1)[1] for a in argv if a.startswith("--env-file=")]
    i = 1
    if argv[i : i + 2] in (["container", "run"], ["container", "exec"]):
        i += 1
    compose = argv[0].rsplit("/", 1)[-1].endswith("-compose") or argv[1:2] == ["compose"]
    if compose:  # ``docker compose [options] exec|run SERVICE cmd…``
        i += 0 if argv[0].rsplit("/", 1)[-1].endswith("-compose") else 1
        while i < len(argv) and argv[i].startswith("-"):
            i += 2 if argv[i] in _COMPOSE_VALUED else 1
    if i < len(argv) and (argv[i] == "exec" or (compose and argv[i] == "run")):
        return _exec(argv, cmd, i + 1)  # the command runs in the container, with whatever it can reach
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


_COMPOSE_VALUED = frozenset({"-f", "--file", "-p", "--project-name", "--profile", "--project-directory",
                             "--env-file", "--ansi", "--progress", "--parallel"})  # fmt: skip
_EXEC_VALUED = frozenset({"--detach-keys", "--index", "--entrypoint"}) | _CONTAINER_VALUED


def _exec(argv: list[str], cmd: Command, i: int) -> int | None:
    """``docker exec [options] CONTAINER cmd…`` (also ``compose exec|run SERVICE cmd…``): where cmd starts."""
    while i < len(argv) and argv[i].startswith("-"):
        if argv[i] == "--":
            i += 1
            break
        i += 2 if argv[i] in _EXEC_VALUED else 1
    return i + 1 if i + 1 < len(argv) else None


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
    items = _xargs_items(argv[1:i], cmd.stdin) if cmd.stdin is not None else None
    if items is None and cmd.feed is not None and cmd.feed.name in ("find", "ls") and not cmd.feed.opaque:
        from agentctl.gate.shell_hazards import listed

        items = listed(cmd)
    if items is None:
        items, known = ["$(stdin)"], False
    else:
        known = True
    if replace is not None:  # one run per item: an argument word takes each item in turn, shell text all of them
        rest = [x for w in rest for x in ([w.replace(replace, i) for i in items] if _per_item(w, replace) else
                                          [w.replace(replace, " ".join(items))])]  # fmt: skip
    else:
        rest = [*rest, *items]
        rest_literal = [*rest_literal, *([known] * len(items))]
    argv[:] = [argv[0], *rest]
    cmd.literal[:] = [True, *rest_literal[: len(rest)], *([known] * max(0, len(rest) - len(rest_literal)))]
    return 1


def _per_item(word: str, replace: str) -> bool:
    return replace in word and " " not in word.replace(replace, "")


def _xargs_items(options: list[str], text: str) -> list[str]:
    """The arguments xargs reads from ``text``: NUL- or DELIM-separated with ``-0``/``-d``, else blank-separated
    words with quotes honoured (``echo 'terraform apply' | xargs -0 sh -c`` gives one argument)."""
    delimiter = None
    for at, option in enumerate(options):
        if option in ("-0", "--null"):
            delimiter = "\0"
        elif option in ("-d", "--delimiter") and at + 1 < len(options):
            delimiter = options[at + 1].encode().decode("unicode_escape", "replace")[:1] or None
        elif option.startswith("--delimiter="):
            delimiter = option.split("=", 1)[1].encode().decode("unicode_escape", "replace")[:1] or None
    if delimiter is not None:
        items = text.split(delimiter)
        return items[:-1] if items and items[-1] == "" else items
    return split(text)


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
    if name in ("su", "script"):  # no command: a shell that reads its standard input
        if name == "script":
            cmd.writes += [a for a in argv[1:i] if not a.startswith("-") and a != "/dev/null"][:1]
        argv[:] = [argv[0], "sh"]
        cmd.literal[:] = [True, True]
        return 1
    return i if i < n else None


WRAPPERS = frozenset({
    "docker", "podman", "nerdctl", "docker-compose", "podman-compose", "sudo", "doas", "env", "builtin", "busybox",
    "toybox", "command", "exec", "nice", "ionice", "stdbuf", "time", "nohup", "setsid", "chrt", "taskset",
    "unbuffer", "timeout", "xargs", "watch", "coproc", "screen", "microk8s", "k3s", "k0s", "minikube",
    *_TEXT_RUNNERS, *shell_launchers.LAUNCHERS,
})  # fmt: skip
