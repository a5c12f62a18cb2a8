"""Files a simple command reads and writes, known per command (the writers and readers).

Called by :mod:`agentctl.gate.shell_effects` once a command is unwrapped:
redirections are already on the command; this adds what the program itself
touches (``cp`` writes its destination, ``sed -i`` its files, ``grep`` reads
all but its pattern, ``git apply`` the files its diff names…).
"""

from __future__ import annotations

import os
import posixpath
import re
from typing import TYPE_CHECKING

from agentctl.gate import shell_writers

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker

_NO_READ = {
    "echo", "printf", "ls", "stat", "test", "[", "[[", "touch", "mkdir", "rmdir", "chmod", "chown", "chgrp",
    "realpath", "readlink", "basename", "dirname", "which", "type", "true", "false", "cd", "pushd", "popd",
    "export", "unset", "set", "declare", "local", "alias", "hash", "exit", "return", "sleep", "kill", "wait",
    "mktemp", "pwd", "date", "whoami", "id", "uname", "rm", "unlink", "ln", "wc", "du", "df", "file",
    "md5sum", "sha1sum", "sha256sum", "sha512sum", "cksum", "b2sum", "git", "docker", "docker-compose",
    "podman", "make", "npm", "npx", "yarn", "pnpm", "terraform", "tofu", "terragrunt", "kubectl", "helm",
    "find", "tee", "truncate", "shred", "dotenv", "mkfifo", "apply_patch", "applypatch",
}  # fmt: skip
_PATTERN_FIRST = {"grep", "egrep", "fgrep", "rg", "ag", "ack", "sed", "awk", "gawk", "mawk", "nawk", "jq", "yq"}
_COPIERS = frozenset({"cp", "install", "rsync", "scp", "ln", "mv"})
_GIT_READS = {"show", "diff", "blame", "cat-file", "grep", "log", "archive", "format-patch"}


def _positionals(args: list[str], valued: frozenset[str] | set[str] = frozenset()) -> list[str]:
    return shell_writers.non_options(args, valued)


_COMMON_VALUED = frozenset({"-t", "--target-directory", "-m", "--mode", "-o", "-g", "-e", "-S", "--suffix"})
_OWN_VALUED = {"column": frozenset({"-s", "-o", "-c", "-N", "-E", "-H", "-R", "-W", "-T", "-l", "-r"})}
"""Readers whose ``-t``/``-o``… are flags or take values unlike :data:`_COMMON_VALUED` (``column -t FILE``)."""
_EDITORS = {"ed", "ex", "vi", "vim", "nvim", "nano", "emacs", "red"}
_WRITERS = {
    *_EDITORS,
    "cp", "install", "rsync", "scp", "ln", "mv", "tee", "truncate", "rm", "unlink", "rmdir", "shred", "touch",
    "mkdir", "patch", "chmod", "chown", "chgrp", "chattr", "dd", "git", "curl", "wget", "sqlite3", "sqlite", "tar",
    "unzip", "mkfifo", "mknod", *shell_writers.HANDLED,
}  # fmt: skip


def touches_nothing(name: str) -> bool:
    """Whether :func:`effects` finds no file ``name`` reads or writes from its arguments (``echo``, ``cd``…)."""
    return name in _NO_READ and name not in _WRITERS


def effects(cmd: Command, name: str, args: list[str], walker: Walker) -> None:
    """Files a known command writes, and the files any command reads."""
    if touches_nothing(name):
        return
    if name in shell_writers.HANDLED:
        shell_writers.effects(cmd, name, args, walker)
        return
    if name in _PATTERN_FIRST and name != "sed":
        _pattern_first(cmd, name, args)
        return
    pos = _positionals(args, _OWN_VALUED.get(name, _COMMON_VALUED))
    writes: list[str] = []
    reads: list[str] = []
    target = None
    if name in _COPIERS:
        target = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-t", "--target-directory")), None)
        target = target or next((a.split("=", 1)[1] for a in args if a.startswith("--target-directory=")), None)
    if name in ("cp", "install", "rsync", "scp", "ln"):
        dests = [target] if target else pos[-1:] if len(pos) > 1 else ["."] if name == "ln" else []
        writes += dests
        reads += [p for p in pos if p not in dests and name != "ln"]
        if name == "ln":
            shell_writers.links(cmd, args, pos, dests)
        else:
            shell_writers.copies(cmd, name, args, pos, dests)
    elif name == "mv":
        writes += pos if not target else [*pos, target]
        reads += pos[:-1] if not target else pos
        shell_writers.copies(cmd, name, args, pos, [target] if target else pos[-1:] if len(pos) > 1 else [])
    elif name in ("tee", "truncate", "rm", "unlink", "rmdir", "shred", "touch", "mkdir"):
        writes += pos if name != "truncate" else _positionals(args, {"-s", "--size", "-r", "--reference"})
    elif name in ("mkfifo", "mknod"):  # a FIFO: what a reader of it gets is written later, by anyone
        writes += pos[:1] if name == "mknod" else pos
    elif name in ("chmod", "chown", "chgrp", "chattr"):
        writes += pos[1:]
    elif name == "dd":
        writes += [a[3:] for a in args if a.startswith("of=")]
        reads += [a[3:] for a in args if a.startswith("if=")]
    elif name == "sed":
        scripted = any(a in ("-e", "-f", "--expression", "--file") or a.startswith("--expression=") for a in args)
        files = _positionals(args, {"-e", "-f", "--expression", "--file", "-l"})[0 if scripted else 1 :]
        reads += files
        if any(a.startswith("--in-place") or (re.match(r"^-[a-zA-Z]*i", a) and not a.startswith("--")) for a in args):
            writes += files
    elif name == "git":
        _git(cmd, args, reads, writes, walker)
    elif name == "patch":
        files = [p for p in pos if not p.startswith("-")]
        given = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-i", "--input")]
        writes += files[:1] if files else patch_targets(cmd, given or cmd.reads[:1], walker)
    elif name in _EDITORS:
        ex_valued = {"-c", "--cmd", "-S", "-u", "-U", "-W", "-w", "-i", "-T", "-t", "-q"}
        files = [p for p in _positionals(args, ex_valued) if not p.startswith("+")]
        writes += files
        reads += files  # an editor shows the file (``vim -es -c %p``, ``ed -s FILE <<< ,p`` print it)
    elif name in ("curl", "wget"):
        reads += [re.sub(r"^file://(localhost)?", "", a) for a in pos if a.lower().startswith("file://")]
        valued = {"-o", "--output", "-O", "--output-document"} if name == "wget" else {"-o", "--output"}
        writes += [args[i + 1] for i, a in enumerate(args[:-1]) if a in valued and args[i + 1] != "-"]
        named_output = any(
            a in valued or a.startswith("--output-document") or re.fullmatch(r"-[a-zA-Z]*O.*", a) for a in args
        )
        remote_name = name == "wget" and not named_output
        remote_name |= name == "curl" and any(a in ("-O", "--remote-name", "--remote-name-all") or
                                              re.fullmatch(r"-[a-zA-Z]*O[a-zA-Z]*", a) for a in args)  # fmt: skip
        if remote_name:  # ``wget URL`` / ``curl -O URL`` save to the URL's file name
            urls = [a for a in args if re.match(r"^[a-z]+://", a)]
            prefix = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-P", "--directory-prefix")), "")
            for url in urls:
                base = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1] or "index.html"
                writes.append(posixpath.join(prefix, base) if prefix and name == "wget" else base)
        uploads = {"-d", "--data", "--data-binary", "--data-raw", "--data-urlencode", "-F", "--form", "-T"}
        reads += [a.split("=", 1)[1] for a in args if a.startswith(("--post-file=", "--body-file="))]
        uploads |= {"--post-file", "--body-file"}
        for i, a in enumerate(args[:-1]):
            if a in uploads or a == "--upload-file":
                value = args[i + 1].split("=", 1)[-1]
                reads += [value.lstrip("@<")] if value.startswith(("@", "<")) or a in ("-T", "--upload-file") else []
    elif name in ("sqlite3", "sqlite"):
        pos = _positionals(args, {f"{d}{o}" for d in ("-", "--") for o in _SQLITE_VALUED})
        db = [p for p in pos[:1] if p != ":memory:"]
        (reads if _sqlite_reads_only(cmd, args, pos[1:]) else writes).extend(db)
        run = [args[i + 1] for i, a in enumerate(args[:-1]) if a.lstrip("-") == "cmd"]  # -cmd runs its SQL first
        _sql(cmd, " ".join([*run, *pos[1:]]), reads, writes)
    elif name not in _NO_READ:
        reads += [p for p in pos if p != "-"]
        reads += [a.split("=", 1)[1] for a in args if a.startswith("--") and "=" in a]
    cmd.writes += [w for w in writes if w]
    cmd.reads += [r for r in reads if r]


_PATTERN_VALUED = frozenset(
    {"-e", "-f", "-m", "-A", "-B", "-C", "-g", "-t", "-T", "--type", "-v", "-F", "--glob", "--regexp"}
)
_AWK_VALUED = _PATTERN_VALUED | {"-i", "--include"}


def _pattern_first(cmd: Command, name: str, args: list[str]) -> None:
    """grep/sed/awk/jq…: the first positional is the pattern or program, unless given with -e/-f."""
    reads: list[str] = []
    writes: list[str] = []
    explicit = any(a in ("-e", "-f", "--regexp", "--file") or a.startswith("--regexp=") for a in args)
    files = _positionals(args, _AWK_VALUED if name.endswith("awk") else _PATTERN_VALUED)
    reads += files[0 if explicit else 1 :]
    if name in ("grep", "egrep", "fgrep", "rg", "ag", "ack"):
        patterns = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-e", "--regexp")]
        patterns += [a.split("=", 1)[1] for a in args if a.startswith("--regexp=")]
        shell_writers.search(cmd, name, args, files[0 if explicit else 1 :], patterns or files[:1])
    if name.endswith("awk") and any(a.endswith("inplace") for a in args):
        writes += files[0 if explicit else 1 :]
    reads += [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-f", "--file")]
    cmd.writes += [w for w in writes if w]
    cmd.reads += [r for r in reads if r]


def patch_targets(cmd: Command, files: list[str], walker: Walker) -> list[str]:
    """The files a unified diff (given as files, or on stdin) changes; opaque when it cannot be read."""
    texts: list[str | None] = [cmd.stdin] if not files and cmd.stdin is not None else []
    for name in files:
        path = posixpath.join(cmd.cwd, name) if cmd.cwd and not os.path.isabs(name) else name
        texts.append(walker.read_file(path) if walker.read_file else None)
    if not texts or None in texts:
        if not files:
            cmd.opaque = cmd.opaque or "applies a patch agentctl cannot read"
        return []
    out = []
    for text in texts:
        for line in (text or "").splitlines():
            prefix = next((p for p in ("+++ ", "--- ", "rename to ", "rename from ") if line.startswith(p)), None)
            if prefix is not None:
                target = line[len(prefix) :].split("\t")[0].strip()
                target = target[2:] if target[:2] in ("a/", "b/") else target
                if target != "/dev/null" and target not in out:
                    out.append(target)
    return out


def _git(cmd: Command, args: list[str], reads: list[str], writes: list[str], walker: Walker) -> None:
    from agentctl.engine.argv import args as positional

    pos = positional(["git", *args])
    sub = pos[0] if pos else ""
    after = args[args.index("--") + 1 :] if "--" in args else []
    shell_writers.git(cmd, sub, args, pos, walker)
    if sub == "config" and not {"--global", "--system", "--worktree", "--file", "-f"} & {*args}:
        if shell_writers.git_config_writes(args):
            writes.append(".git/config")
    elif sub == "apply":
        files = [p for p in pos[1:] if not p.startswith("-")]
        writes += patch_targets(cmd, files or cmd.reads[:1], walker)
    elif sub in ("checkout", "restore"):
        writes += after if after or sub == "checkout" else pos[1:]
    elif sub in ("rm", "mv") and not (sub == "rm" and "--cached" in args):  # rm --cached: the index only
        writes += pos[1:]
    elif (sub == "remote" and pos[1:2] in (["add"], ["set-url"], ["rename"], ["remove"], ["rm"])) or (
        sub == "submodule" and pos[1:2] == ["add"]
    ):
        writes.append(".git/config")  # a remote's URL and fetch settings, a submodule's URL
        if sub == "submodule":
            writes.append(".gitmodules")
    elif sub == "worktree" and pos[1:2] == ["add"]:  # a new directory holding the branch's files
        writes += _worktree_dir(args[args.index("add") + 1 :])
    elif sub == "clone" and len(pos) > 1:  # the clone's directory: its files came from elsewhere
        writes.append(pos[2] if len(pos) > 2 else re.sub(r"\.git$", "", pos[1].rstrip("/").rsplit("/", 1)[-1]))
    elif sub in _GIT_READS:
        reads += [p.split(":", 1)[1] if ":" in p else p for p in [*pos[1:], *after] if not p.startswith("-")]


def _worktree_dir(args: list[str]) -> list[str]:
    """The directory ``git worktree add [OPTIONS] PATH [COMMIT]`` creates."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("-b", "-B", "--reason"):
            skip = True
        elif arg == "--" or not arg.startswith("-"):
            return [arg] if arg != "--" else args[args.index("--") + 1 :][:1]
    return []


_SQL_FILES = re.compile(r"\b(readfile|writefile|edit)\s*\(\s*'([^']*)'", re.IGNORECASE)
_SQL_DOTS = re.compile(
    r"^\s*\.(output|once|save|backup|clone|log|excel|read|import|restore|open|shell|system)\b\s*(\S*)", re.MULTILINE
)


_SQLITE_QUIET = {
    "-readonly", "-header", "-noheader", "-csv", "-json", "-line", "-list", "-column", "-box", "-table",
    "-markdown", "-batch", "-bail", "-html", "-quote", "-tabs", "-ascii", "-echo",
}  # fmt: skip
"""sqlite3 options that neither run SQL nor change what is opened (``-cmd``/``-init`` run SQL: not here)."""
_SQLITE_VALUED = ("cmd", "init", "separator", "nullvalue", "newline", "vfs", "mmap", "maxsize", "lookaside", "A")
_SQL_READ = re.compile(r"^\s*(select\b|explain\b|\.(tables|schema|fullschema|dump|indexes|indices|databases)\b)", re.I)


def _sqlite_reads_only(cmd: Command, args: list[str], sql: list[str]) -> bool:
    """Whether ``sqlite3 DB …`` only reads DB: ``-readonly``, or nothing but SELECTs and listing dot-commands.

    Other options, SQL on stdin, or any statement not known to be a read: the database counts as written.
    """
    options = [a for a in args if a.startswith("-") and a not in sql]  # option values are never quiet options
    if any(a.lstrip("-") and "-" + a.lstrip("-") not in _SQLITE_QUIET for a in options):
        return False
    text = " ".join(sql)
    if re.search(r"load_extension|^\s*\.load\b", text + "\n" + (cmd.stdin or ""), re.I | re.M):
        cmd.opaque = cmd.opaque or "sqlite3 loads an extension (native code)"
        return False
    if any("-" + a.lstrip("-") == "-readonly" for a in options):
        return True
    statements = [s for s in re.split(r"[;\n]", text) if s.strip()]
    return cmd.stdin is None and bool(statements) and all(_SQL_READ.match(s) for s in statements)


def _sql(cmd: Command, text: str, reads: list[str], writes: list[str]) -> None:
    """SQLite's file functions and dot-commands in the SQL given on the command line or stdin."""
    text = text + "\n" + (cmd.stdin or "")
    for function, path in _SQL_FILES.findall(text):
        (reads if function.lower() == "readfile" else writes).append(path)
    for dot, path in _SQL_DOTS.findall(text):
        if dot in ("shell", "system"):
            cmd.opaque = cmd.opaque or f"sqlite3 runs a shell command (.{dot})"
        elif path.strip("'\""):
            (reads if dot in ("read", "import", "restore", "open") else writes).append(path.strip("'\""))
