"""More commands' file effects: archives, ``sort -o``, ``sponge``, ``split``, ``mount``, ``crontab``,
``openssl``, ``sqlite3``, links, recursive searches, and git's whole-tree and global forms.

Called by :mod:`agentctl.gate.shell_files`. Besides ``reads``/``writes`` a command
gets ``trees`` (directories whose whole content it may replace: an archive
extracted there, ``cp -r evil/. .``, a mount), ``deletes`` (recursive delete
targets), ``scans`` (directories read recursively, see :mod:`agentctl.gate.scan`)
and ``links`` (what a new link makes reachable under another name).
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from agentctl.gate import git_index, git_moves, shell_paths
from agentctl.gate.scan import Scan, plain, regex

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker

CRONTAB = "/var/spool/cron/crontabs"
"""Where ``crontab`` installs a table (a system path: the gate judges it protected)."""


def _values(args: list[str], names: set[str]) -> list[str]:
    """Values of valued options (``-o X``, ``-oX``, ``--output=X``)."""
    out = []
    for i, arg in enumerate(args):
        if arg in names and i + 1 < len(args):
            out.append(args[i + 1])
        for name in names:
            if name.startswith("--") and arg.startswith(name + "="):
                out.append(arg.split("=", 1)[1])
            elif len(name) == 2 and not name.startswith("--") and arg.startswith(name) and len(arg) > 2:
                out.append(arg[2:])
    return out


def non_options(args: list[str], valued: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """The operands of ``args``: not options, nor the values of the ``valued`` options; all after ``--``."""
    out, i, ended = [], 0, False
    while i < len(args):
        arg = args[i]
        if not ended and arg == "--":
            ended = True
        elif not ended and arg.startswith("-") and len(arg) > 1:
            i += 1 if arg in valued else 0
        else:
            out.append(arg)
        i += 1
    return out


HANDLED: set[str] = {
    "sort", "sponge", "split", "csplit", "tar", "bsdtar", "unzip", "zip", "openssl", "crontab", "mount",
    "7z", "7za", "7zr", "cpio", "jar",
}  # fmt: skip


def effects(cmd: Command, name: str, args: list[str], walker: Walker) -> None:
    """File effects of the commands in :data:`HANDLED`."""
    if name == "sort":
        cmd.writes += _values(args, {"-o", "--output"})
        cmd.reads += non_options(args, {"-o", "--output", "-k", "-t", "-T", "-S", "--key", "--field-separator"})
    elif name == "sponge":
        cmd.writes += non_options(args, set())
    elif name in ("split", "csplit"):
        valued = {"-l", "-b", "-C", "-n", "-a", "-t", "-f", "--prefix", "--additional-suffix", "--filter", "-e"}
        rest = non_options(args, valued)
        prefix = _values(args, {"-f", "--prefix"})
        if name == "split":
            cmd.reads += [r for r in rest[:1] if r != "-"]
            prefix = rest[1:2] or ["x"]
        else:
            cmd.reads += rest[:1]
            prefix = prefix or ["xx"]
        cmd.writes += [p + "*" for p in prefix]
    elif name in ("tar", "bsdtar"):
        _tar(cmd, args)
    elif name == "unzip":
        archive = non_options(args, {"-d", "-x", "-P"})[:1]
        cmd.reads += archive
        if not any(re.fullmatch(r"-[a-zA-Z]*[pcltvZ][a-zA-Z]*", a) for a in args):
            cmd.trees += _values(args, {"-d"}) or ["."]
    elif name == "zip":
        rest = non_options(args, {"-b", "-n", "-t", "-tt", "-x", "-i", "-P", "-O", "--out"})
        cmd.writes += rest[:1]
        members = rest[1:]
        cmd.reads += members
        if any(re.fullmatch(r"-[a-zA-Z]*r[a-zA-Z]*", a) or a in ("--recurse-paths",) for a in args):
            cmd.scans += [Scan(m) for m in members]
    elif name == "openssl":
        cmd.reads += _values(args, {"-in", "-key", "-inkey", "-CAkey", "-signkey", "-kfile", "-prvkey"})
        cmd.reads += [v[5:] for v in _values(args, {"-passin", "-pass"}) if v.startswith("file:")]
        cmd.writes += [w for w in _values(args, {"-out", "-keyout"}) if w != "-"]
    elif name == "crontab":
        if not any(a in ("-l", "--list") for a in args):
            cmd.writes.append(CRONTAB)
        cmd.reads += [a for a in non_options(args, {"-u"}) if a != "-"]
    elif name in ("7z", "7za", "7zr"):
        rest = [a for a in args if not a.startswith("-")]
        if rest[:1] in (["x"], ["e"]):
            cmd.reads += rest[1:2]
            cmd.trees += [a[2:] for a in args if a.startswith("-o") and len(a) > 2] or ["."]
        elif rest[:1] in (["a"], ["u"]):
            cmd.writes += rest[1:2]
            cmd.reads += rest[2:]
            cmd.scans += [Scan(m) for m in rest[2:]]
    elif name == "cpio":
        if any(a in ("-i", "--extract") or re.fullmatch(r"-[a-zA-Z]*i[a-zA-Z]*", a) for a in args):
            cmd.trees += _values(args, {"-D", "--directory"}) or ["."]
    elif name == "jar":
        letters = args[0].lstrip("-") if args else ""
        if "x" in letters:
            cmd.trees.append(".")
        elif "c" in letters or "u" in letters:
            cmd.reads += args[1:]
            cmd.scans += [Scan(m) for m in args[1:] if not m.startswith("-")]
    elif name == "mount":
        rest = non_options(args, {"-t", "-o", "-L", "-U", "-O", "--types", "--options", "--source", "--target"})
        target = _values(args, {"--target"}) or rest[-1:] if len(rest) > 1 or "--target" in args else []
        cmd.trees += target


def _tar(cmd: Command, args: list[str]) -> None:
    bundle = args[0] if args and not args[0].startswith("-") else ""
    flags = [a for a in args if a.startswith("-") and not a.startswith("--")]
    letters = bundle + "".join(f[1:] for f in flags)
    longs = {a.split("=", 1)[0] for a in args if a.startswith("--")}
    rest = args[1:] if bundle else args
    archive = _values(rest, {"-f", "--file"})
    if bundle and "f" in bundle:
        operands = [a for a in rest if not a.startswith("-") or a == "-"]
        archive = operands[:1]
        rest = [a for a in rest if a not in archive[:1]] if archive else rest
    valued = {"-f", "--file", "-C", "--directory", "-T", "--files-from", "-X", "--exclude-from", "-b", "-H"}
    members = [m for m in non_options(rest, valued) if m not in archive]
    directory = _values(args, {"-C", "--directory"})
    extract = "x" in letters or bool(longs & {"--extract", "--get"})
    create = "c" in letters or "r" in letters or "u" in letters or bool(longs & {"--create", "--append", "--update"})
    if extract:
        cmd.reads += [a for a in archive if a != "-"]
        if "O" not in letters and "--to-stdout" not in longs:
            cmd.trees += directory[-1:] or ["."]
    elif create:
        cmd.writes += [a for a in archive if a != "-"]
        base = directory[-1] if directory else ""
        targets = [posixpath.join(base, m) if base else m for m in members]
        cmd.reads += targets
        cmd.scans += [Scan(t) for t in targets]
    else:
        cmd.reads += [a for a in archive if a != "-"]


_CP_RECURSIVE = re.compile(r"^-[a-zA-Z]*[rRa][a-zA-Z]*$")


def copies(cmd: Command, name: str, args: list[str], pos: list[str], dests: list[str]) -> None:
    """``cp``/``mv``/``rsync`` into a directory write DEST/NAME; copying a directory's content writes the tree."""
    if not dests:
        return
    dest = dests[0]
    sources = [p for p in pos if p not in dests]
    recursive = name in ("mv", "rsync") or any(
        _CP_RECURSIVE.match(a) or a in ("--recursive", "--archive") for a in args
    )
    for source in sources:
        if shell_paths.unresolvable(source):
            continue  # an unknown name lands inside DEST, which is judged as written already
        base = posixpath.basename(source.rstrip("/"))
        if any(c in base for c in "*?["):
            cmd.spreads.append((source, dest))  # each name the glob matches lands in DEST
            continue
        contents = base == "." or (name == "rsync" and source.endswith("/"))
        if recursive and contents:
            cmd.trees.append(dest)
        elif base and base not in (".", ".."):  # DEST/NAME when DEST is a directory: what lands there
            cmd.trees.append(posixpath.join(dest, base))
            if dest.endswith("/"):
                cmd.writes.append(posixpath.join(dest, base))


def links(cmd: Command, args: list[str], pos: list[str], dests: list[str]) -> None:
    """``ln [-s] TARGET… [DEST]``: each target becomes reachable under a new name."""
    symbolic = any(re.fullmatch(r"-[a-zA-Z]*s[a-zA-Z]*", a) or a == "--symbolic" for a in args)
    dest = dests[0] if dests else "."
    for target in [p for p in pos if p not in dests] if dests and len(pos) > 1 else pos[:1]:
        if symbolic and not posixpath.isabs(target):
            folder = dest if dest.endswith("/") or dest == "." or len(pos) > 2 else posixpath.dirname(dest)
            target = posixpath.normpath(posixpath.join(folder, target)) if folder else target
        cmd.links.append(target)


_CONFIG_WRITING = {
    "--add", "--unset", "--unset-all", "--replace-all", "--edit", "-e", "--rename-section", "--remove-section",
}  # fmt: skip
_CONFIG_VALUED = {"-f", "--file", "--blob", "--type", "--default", "--comment", "--value", "-t"}
_CONFIG_READING = {"--get", "--get-all", "--list", "-l", "--get-regexp", "--get-urlmatch", "--get-color"}


def git_config_writes(args: list[str]) -> bool:
    """Whether ``git config …`` (args after ``git``) changes a config file.

    Writes: ``set``/``unset``/``edit``/``rename-section``/``remove-section``, ``--add``/``--unset``/``--edit``…,
    or the old ``NAME VALUE`` form. Reads: ``get``/``list``, ``--get…``/``--list``, a lone ``NAME``.
    """
    rest = args[args.index("config") + 1 :] if "config" in args else []
    words: list[str] = []
    skip = False
    for a in rest:
        if skip:
            skip = False
        elif a in _CONFIG_VALUED:
            skip = True
        elif not a.startswith("-") or a == "-":
            words.append(a)
    if _CONFIG_WRITING & {a.split("=", 1)[0] for a in rest}:
        return True
    if words[:1] and words[0] in ("set", "unset", "edit", "rename-section", "remove-section"):
        return True
    if (words[:1] and words[0] in ("get", "list")) or _CONFIG_READING & {*rest}:
        return False
    return len(words) != 1  # NAME alone reads; NAME VALUE (or nothing understood) writes


def git(cmd: Command, sub: str, args: list[str], pos: list[str], walker: Walker) -> None:
    """git's global config, whole-tree restores, ``clean``, ``hash-object``, ``stash show -u``,
    ``apply --directory``."""
    if sub == "config" and git_config_writes(args):
        if "--global" in args:
            cmd.writes += [posixpath.join(walker.home, ".gitconfig")]
        if "--system" in args:
            cmd.writes.append("/etc/gitconfig")
        if "--worktree" in args:
            cmd.writes.append(".git/config.worktree")
        cmd.writes += _values(args, {"--file", "-f"})
    elif sub == "checkout" and "--" in args:  # PATH as in REV, or as in the index (which may hold anything)
        revs = [a for a in args[args.index(sub) + 1 : args.index("--")] if not a.startswith("-")]
        cmd.trees += git_index.pathspecs(args[args.index("--") + 1 :]) or (["."] if revs else [])
    elif sub == "restore":
        cmd.trees += git_index.Restore(args[args.index(sub) + 1 :]).trees()
    elif sub == "reset" and any(a in ("--hard", "--merge", "--keep") for a in args):
        cmd.trees.append(".")  # the whole tree, as in REV or HEAD (either may hold anything)
    elif sub == "checkout-index":
        cmd.trees += git_index.checkout_index_trees(args[args.index(sub) + 1 :])
    elif sub == "update-index":
        cmd.trees += git_index.update_index_trees(args[args.index(sub) + 1 :])
    elif sub == "read-tree" and not {"-n", "--dry-run"} & set(args):
        cmd.trees.append(".")  # the index (and with -u the work tree) as in another tree
    elif _rewrites_tree(sub, args, pos):
        cmd.trees.append(".")  # the whole tree, as in another revision (like ``reset --hard REV``)
    elif sub == "grep" and any(a in ("--no-index", "--untracked") for a in args):
        cmd.scans.append(Scan("."))
    elif sub == "clean":
        dry = any(a in ("-n", "--dry-run") or re.fullmatch(r"-[a-zA-Z]*n[a-zA-Z]*", a) for a in args)
        force = any(a == "--force" or re.fullmatch(r"-[a-zA-Z]*f[a-zA-Z]*", a) for a in args)
        if force and not dry:
            cmd.deletes += [p for p in pos[1:]] or ["."]
    elif sub == "hash-object" and "--stdin" not in args and "--stdin-paths" not in args:
        cmd.reads += [p for p in pos[1:]]
    elif sub == "stash" and pos[1:2] == ["show"]:
        if any(a in ("-u", "--include-untracked", "--only-untracked") for a in args):
            cmd.scans.append(Scan("."))
    elif sub == "apply":
        cmd.writes += _values(args, {"--directory"})


_ENDS = frozenset({"--abort", "--quit", "--skip", "--show-current-patch"})


def _rewrites_tree(sub: str, args: list[str], pos: list[str]) -> bool:
    """git commands that bring another revision's files into the tree: merges, patches, branch moves."""
    flags = set(args)
    if sub in ("merge", "pull", "cherry-pick", "am"):
        return not _ENDS & flags
    if sub in ("checkout", "switch"):  # a branch move (``git checkout -b new`` from HEAD: nothing changes)
        return "--" not in args and not git_moves.Switch(args[args.index(sub) + 1 :]).changes_nothing()
    if sub in ("rebase", "revert"):
        return not {*_ENDS, "--continue", "--edit-todo"} & flags
    if sub == "stash":  # ``stash [push]`` puts the files that differ from HEAD back as HEAD has them
        return pos[1:2] in (["pop"], ["apply"], ["branch"]) or git_moves.stash_push(args[args.index(sub) + 1 :])
    return False


def git_dir(cmd: Command, args: list[str]) -> None:
    """``git -C DIR …``: the command runs in DIR (global options, before the subcommand)."""
    i = 0
    while i < len(args) and args[i].startswith("-"):
        if args[i] == "-C" and i + 1 < len(args):
            literal = cmd.literal[i + 2] if i + 2 < len(cmd.literal) else True
            shell_paths.enter(cmd, args[i + 1], literal)
            i += 2
            continue
        i += 2 if args[i] in ("-c", "--git-dir", "--work-tree", "--namespace") else 1


def make_dir(cmd: Command, args: list[str]) -> None:
    for value in _values(args, {"-C", "--directory"}):
        shell_paths.enter(cmd, value)


def search(cmd: Command, name: str, args: list[str], files: list[str], patterns: list[str]) -> None:
    """``grep -r``/``rg``/``ag``: every directory operand is read recursively."""
    recursive = name in ("rg", "ag", "ack") or any(
        a in ("--recursive", "--dereference-recursive", "--directories=recurse")
        or (re.fullmatch(r"-[a-zA-Z]*[rR][a-zA-Z]*", a) is not None)
        for a in args
    )
    if not recursive:
        return
    fixed = name == "fgrep" or any(a in ("-F", "--fixed-strings") or re.fullmatch(r"-[a-zA-Z]*F", a) for a in args)
    inverted = any(
        a in ("-v", "--invert-match", "-L", "--files-without-match", "-c", "--count")
        or re.fullmatch(r"-[a-zA-Z]*[vLc][a-zA-Z]*", a) is not None
        for a in args
    )
    extended = any(a in ("-E", "--extended-regexp") or re.fullmatch(r"-[a-zA-Z]*E", a) for a in args)
    perl = name in ("rg", "ag", "ack") or any(a in ("-P", "--perl-regexp") for a in args)
    dialect = "pcre" if perl else "ere" if extended or name == "egrep" else "bre"
    pattern, is_regex = None, False
    if len(patterns) == 1 and not inverted:
        pattern = plain(patterns[0], fixed)
        if pattern is None and not fixed:
            pattern, is_regex = regex(patterns[0], dialect), True
    ignore_case = any(a in ("-i", "--ignore-case") or re.fullmatch(r"-[a-zA-Z]*i[a-zA-Z]*", a) for a in args)
    hidden = name not in ("rg", "ag") or any(
        a in ("--hidden", "-uu", "-uuu", "--no-ignore", "-.", "--unrestricted") for a in args
    )
    include = _values(args, {"--include"}) + _values(args, {"-g", "--glob", "--iglob"})
    scan_args = {
        "pattern": pattern,
        "regex": is_regex,
        "ignore_case": ignore_case,
        "include": [g for g in include if not g.startswith("!")],
        "exclude": _values(args, {"--exclude"}) + [g[1:] for g in include if g.startswith("!")],
        "exclude_dir": _values(args, {"--exclude-dir"}),
        "hidden": hidden,
    }
    for target in files or ["."]:
        cmd.scans.append(Scan(target, **scan_args))  # type: ignore[arg-type]


def bind_mounts(argv: list[str], cmd: Command) -> None:
    """``-v SRC:DST`` / ``--mount type=bind,source=SRC``: the container reads all of SRC."""
    for i, arg in enumerate(argv[:-1]):
        value = argv[i + 1]
        if arg in ("-v", "--volume") and ":" in value:
            source = value.split(":", 1)[0]
        elif arg == "--mount" and "bind" in value:
            parts = dict(p.split("=", 1) for p in value.split(",") if "=" in p)
            source = parts.get("source") or parts.get("src") or ""
        else:
            continue
        if source.startswith(("/", ".", "~", "$")):
            cmd.scans.append(Scan(source))


def find_output(args: list[str]) -> list[str]:
    """What ``find ROOTS [-name GLOB]`` prints, as paths or globs (its roots when the filter is not simple)."""
    roots = []
    for arg in args:
        if arg.startswith(("-", "(", "!")):
            break
        roots.append(arg)
    roots = roots or ["."]
    names = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-name", "-iname")]
    if len(names) != 1 or any(a in ("-o", "-or", "!", "-not", "-path", "-regex", "-prune") for a in args):
        return roots
    return [posixpath.join(r, names[0]) for r in roots] + [posixpath.join(r, "*", names[0]) for r in roots]
