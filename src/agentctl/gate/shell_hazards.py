"""Effects judged once a command is unwrapped, beyond its plain file reads and writes.

Called at the end of :func:`agentctl.gate.shell_effects.analyse`:

* settings that run commands (:mod:`agentctl.gate.shell_settings`) and code that
  comes from elsewhere (:mod:`agentctl.gate.shell_downloads`);
* destroyers of home or system data: moving a home or system directory's content
  away (``mv ~/* /tmp/x``), trashing it (``trash-put``, ``gio trash``),
  formatting or partitioning a disk (``mkfs``, ``wipefs``, ``fdisk``…: the
  device counts as written, and a written block device is a wipe), changing
  permissions or owners recursively (judged in :mod:`agentctl.gate.reach`);
* reads the plain argument lists miss: ``shopt -s dotglob`` (later globs match
  dotfiles, ``.env`` included), ``cpio -o`` (the names on its input),
  ``python3 -m dotenv list``;
* writes they miss: ``uniq IN OUT``, ``script FILE``, ``yq -i``, ``aria2c -o``,
  ``curl -so FILE``, ``wget -qO FILE``.
"""

from __future__ import annotations

import functools
import posixpath
import re
from typing import TYPE_CHECKING

from agentctl.gate import inline, shell_downloads, shell_settings
from agentctl.gate.shell_writers import find_output, non_options

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker

_TRASH = frozenset({"trash-put", "trash", "gvfs-trash", "rmtrash", "trash-cli"})
_FORMATTERS = re.compile(r"^(mkfs(\..+)?|mke2fs|mkswap|mkdosfs|mkntfs|mkexfatfs|wipefs|blkdiscard)$")
_PARTITIONERS = frozenset({"fdisk", "sfdisk", "cfdisk", "gdisk", "sgdisk", "parted"})
_PARTITION_READS = frozenset({"-l", "--list", "-d", "--dump", "-s", "--show-size", "-p", "--print", "-v", "-i"})
_PERMISSIONS = frozenset({"chmod", "chown", "chgrp", "setfacl", "chattr", "chcon"})
BLOCK_DEVICE = re.compile(
    r"^/dev/(sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|md\d|dm-\d|loop\d|nbd\d|disk/|mapper/|zd\d|sr\d)"
)
"""Block devices: writing one destroys the file systems on it."""


_NAMES = frozenset({
    "terraform", "tofu", "terragrunt", "git", "man", "gio", "mv", "shopt", "setopt", "unsetopt", "cpio", "uniq",
    "script", "yq", "aria2c", "aria2", "curl", "wget", *_TRASH, *_PARTITIONERS, *shell_downloads.NAMES,
})  # fmt: skip
"""The programs judged here (the rest pass straight through: this runs for every command)."""
_WRITERS = frozenset({"uniq", "script", "yq", "aria2c", "aria2", "curl", "wget"})


@functools.lru_cache(maxsize=1024)
def judged(name: str) -> bool:
    """Whether :func:`judge` looks at ``name``'s arguments (settings, downloads, destroyers, secret readers)."""
    return (
        name in _NAMES
        or bool(_FORMATTERS.match(name))
        or name.startswith(("perl", "ruby", "pip"))
        or inline.interpreter(name)
    )


def judge(cmd: Command, walker: Walker) -> None:
    name = cmd.name
    if judged(name):
        args = cmd.argv[1:]
        shell_settings.judge(cmd, name, args, walker)
        shell_downloads.judge(cmd, name, args, walker)
        if name in _WRITERS:
            _writers(cmd, name, args)
        elif name.startswith(("perl", "ruby")):
            _modules(cmd, name, args)
        else:
            _destroyers(cmd, name, args)
            _readers(cmd, name, args, walker)
    dotglob(cmd, walker)


def dotglob(cmd: Command, walker: Walker) -> None:
    """After ``shopt -s dotglob``, a glob read also reads the dot files it now matches."""
    if cmd.reads and walker.dotglob:
        cmd.reads += [d for r in cmd.reads for d in _dotted(r) if d not in cmd.reads]


def launcher(cmd: Command, name: str, args: list[str], walker: Walker) -> None:
    """A wrapper that runs a package it fetches (``npx URL``, ``uvx --from git+…``), judged before it is unwrapped."""
    if name in shell_downloads.NAMES:
        shell_downloads.judge(cmd, name, args, walker)


def _destroyers(cmd: Command, name: str, args: list[str]) -> None:
    if name in _TRASH or (name == "gio" and args[:1] == ["trash"]):
        rest = args[1:] if name == "gio" else args
        if not any(a in ("--empty", "--list", "--restore") for a in rest):
            targets = non_options(rest, {"--trash-dir"})
            cmd.deletes += targets
            cmd.writes += targets
    elif name == "mv":
        targets = non_options(args, {"-t", "--target-directory", "-S", "--suffix"})
        named = any(a in ("-t", "--target-directory") or a.startswith("--target-directory=") for a in args)
        cmd.deletes += targets if named else targets[:-1]  # moved away: gone from where they were
    elif _FORMATTERS.match(name) or (name in _PARTITIONERS and not _PARTITION_READS & set(args)):
        if name == "parted" and set(non_options(args)[1:]) <= {"print", "p", "unit", "s", "B", "MB", "GB"}:
            return
        cmd.writes += [a for a in non_options(args) if a.startswith("/dev/")]


_RISKY_MODULES = re.compile(r"^-[Mm]-?(File::(Path|Copy|Remove|Find)|IPC::|Socket|Net::|LWP|open3)")


def _modules(cmd: Command, name: str, args: list[str]) -> None:
    """``perl -MFile::Path=rmtree -e 'rmtree(...)'``: a module loaded from the command line that writes files or
    runs commands makes the inline code opaque (the code itself may only call what the module exports)."""
    risky = next((a for a in args if _RISKY_MODULES.match(a)), None)
    if risky is not None:
        cmd.opaque = cmd.opaque or f"{name} loads {risky[2:]}, which can delete files or run commands"


def ruins(cmd: Command) -> list[str]:
    """Directories whose every file a recursive ``chmod``/``chown``/``setfacl``… changes."""
    if cmd.name not in _PERMISSIONS:
        return []
    args = cmd.argv[1:]
    if not any(a in ("-R", "--recursive") or re.fullmatch(r"-[a-zA-Z]*R[a-zA-Z]*", a) for a in args):
        return []
    valued = {"-m", "-M", "-x", "-X", "--reference", "--from", "-t", "-u", "-r", "-l"}
    operands = non_options(args, valued if cmd.name in ("setfacl", "chcon") else set())
    first = 0 if cmd.name == "chattr" or any(a.startswith("--reference") for a in args) else 1
    if cmd.name == "setfacl":
        first = 0 if any(a in ("-m", "-M", "-x", "-X", "-b", "-k", "--set") for a in args) else 1
    return operands[first:]


def _readers(cmd: Command, name: str, args: list[str], walker: Walker) -> None:
    if name == "shopt" and "dotglob" in args and ("-s" in args or "-u" in args):
        walker.dotglob = "-s" in args
    elif name in ("setopt", "unsetopt") and any(a.lower().replace("_", "") in ("globdots", "dotglob") for a in args):
        walker.dotglob = name == "setopt"
    elif name == "cpio" and any(re.fullmatch(r"-[a-zA-Z]*[op][a-zA-Z]*", a) or a in ("--create", "--pass-through")
                                for a in args):  # fmt: skip
        cmd.reads += listed(cmd)
    elif inline.interpreter(name) and args[:2] == ["-m", "dotenv"]:
        rest = args[2:]
        files = [rest[i + 1] for i, a in enumerate(rest[:-1]) if a in ("-f", "--file")]
        verb = next((a for a in non_options(rest, {"-f", "--file", "-e", "--export"})), "")
        if verb in ("list", "get", "run") and not {"-h", "--help"} & set(rest):
            cmd.reads += files or [".env"]


def listed(cmd: Command) -> list[str]:
    """The file names a command reads on its input (``cpio -o``, ``xargs``), when the parse knows them."""
    if cmd.stdin is not None:
        return cmd.stdin.split()
    feed = cmd.feed
    if feed is None or feed.opaque:
        return []
    if feed.name == "find":
        return find_output(feed.argv[1:])
    if feed.name == "ls":
        return ls_output(feed.argv[1:])
    return []


def ls_output(args: list[str]) -> list[str]:
    """What ``ls [-a|-A] OPERAND…`` prints, as paths or globs: a file operand (or any with ``-d`` or a glob) as
    given; a directory's entries by bare name (``*``, and ``.*`` with ``-a``/``-A``)."""
    flags = "".join(a[1:] for a in args if a.startswith("-") and not a.startswith("--"))
    hidden = "a" in flags or "A" in flags or "--all" in args or "--almost-all" in args
    operands = [a for a in args if not a.startswith("-")]
    out = [a for a in operands if a not in (".", "./")]
    if "d" not in flags and "--directory" not in args and not all(any(c in a for c in "*?[") for a in out or ["."]):
        out += ["*", ".*"] if hidden else ["*"]
    return out


def _dotted(raw: str) -> list[str]:
    """Under ``dotglob``: the dotfiles a glob also matches (``*`` → ``.*``; ``*.env`` → ``.env``)."""
    head, _, base = raw.rpartition("/")
    if not any(ch in base for ch in "*?[") or base.startswith("."):
        return []
    names = ["." + base] + ([base[1:]] if base.startswith("*.") else [])
    return [f"{head}/{n}" if head else n for n in names]


def _writers(cmd: Command, name: str, args: list[str]) -> None:
    if name == "uniq":
        operands = non_options(args, {"-f", "-s", "-w", "--skip-fields", "--skip-chars", "--check-chars"})
        cmd.writes += operands[1:2]
    elif name == "script":
        valued = {"-E", "--echo", "-I", "--log-in", "-O", "--log-out", "-B", "--log-io", "-T", "-t", "--log-timing",
                  "-m", "--logging-format", "-o", "--output-limit"}  # fmt: skip
        cmd.writes += non_options(args, valued)[:1] or ["typescript"]
        cmd.writes += [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-O", "--log-out", "-B", "--log-io")]
    elif name == "yq" and any(a == "-i" or a.startswith("--inplace") or re.fullmatch(r"-[a-zA-HJ-Z]*i", a)
                              for a in args):  # fmt: skip
        valued = {"-I", "--indent", "-o", "--output-format", "-p", "--input-format", "--from-file", "--arg"}
        operands = non_options(args, valued)
        explicit = any(a.startswith("--from-file") for a in args)
        cmd.writes += operands if explicit or len(operands) == 1 else operands[1:]
    elif name in ("aria2c", "aria2"):
        out = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-o", "--out")]
        out += [a.split("=", 1)[1] for a in args if a.startswith("--out=")]
        folder = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-d", "--dir")), "")
        cmd.writes += [posixpath.join(folder, o) if folder else o for o in out]
    elif name in ("curl", "wget"):
        letter = "o" if name == "curl" else "O"
        for i, arg in enumerate(args):
            if re.fullmatch(rf"-[a-zA-Z]+{letter}", arg) and i + 1 < len(args) and args[i + 1] != "-":
                cmd.writes.append(args[i + 1])  # ``curl -so FILE``, ``wget -qO FILE``
