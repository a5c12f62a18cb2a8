"""Which files a git command that writes the work tree from the index (or stages another revision) changes.

``git checkout -- PATH``, ``git restore PATH``, ``git checkout-index`` write the index's content into the work
tree; ``git reset --hard [REV]`` (``--merge``, ``--keep``) and ``git checkout -f`` write REV's (HEAD's). The
index and HEAD can hold content the gate never saw: ``git update-index --cacheinfo`` of a blob the agent made,
``git read-tree REV``, ``git reset --soft REV`` in an earlier call (issue #11, gitindex). So these writes are
judged by the files that actually differ: ``git diff -- PATH`` (index against work tree) for a restore from the
index, ``git diff REV`` (REV against work tree) for a reset. ``git read-tree REV`` and ``update-index --cacheinfo``
are judged as writes of what they stage (REV's files that differ from the work tree, the named path): a crafted
entry can be committed and pushed without ever reaching the work tree. ``git reset --soft/--mixed REV`` is
not: it stages an existing commit (undoing the last commit is everyday), and the write that would follow is
judged. The planned queries are asked by :mod:`agentctl.gate.git_incoming`; None means not understood: the
command's own paths (or the whole tree) are judged.
"""

from __future__ import annotations

import re

from agentctl.gate.git_moves import REVISION, Ask, diff, over_tree

_MAGIC = re.compile(r"^:|[*?\[]")
"""A pathspec git expands itself (``:/``, ``:(glob)…``, ``*.yml`` matches in every directory)."""

_RESTORE_FLAGS = frozenset({"-q", "--quiet", "--progress", "--no-progress", "--overlay", "--no-overlay",
                            "--ignore-unmerged", "--ignore-skip-worktree-bits", "--no-recurse-submodules"})  # fmt: skip
_RESET_FLAGS = frozenset({"--hard", "--merge", "--keep", "-q", "--quiet", "--no-recurse-submodules"})
_CHECKOUT_INDEX_FLAGS = frozenset({"-a", "--all", "-f", "--force", "-u", "--index", "-q", "--quiet", "-n",
                                   "--no-create", "--ignore-skip-worktree-bits"})  # fmt: skip
_READ_TREE_FLAGS = frozenset({"-m", "--reset", "-u", "-v", "-q", "--quiet", "--no-sparse-checkout", "-i"})


def pathspecs(paths: list[str]) -> list[str]:
    """The places PATHS name, for judging them whole: one git expands itself stands for the whole tree."""
    return ["." if _MAGIC.search(path) else path for path in paths]


class Restore:
    """``git restore`` arguments: where the content comes from, what is written, which paths."""

    def __init__(self, args: list[str]) -> None:
        self.source: str | None = None
        self.staged = self.worktree = self.patch = self.from_file = False
        self.understood, self.paths = True, []
        skip = False
        for i, arg in enumerate(args):
            if skip:
                self.source, skip = arg, False
            elif arg in ("-s", "--source"):
                skip = True
            elif arg.startswith("--source="):
                self.source = arg.split("=", 1)[1]
            elif arg == "--":
                self.paths += args[i + 1 :]
                break
            elif arg in ("-S", "--staged"):
                self.staged = True
            elif arg in ("-W", "--worktree"):
                self.worktree = True
            elif arg in ("-p", "--patch"):
                self.patch = True
            elif arg.startswith("--pathspec-from-file"):
                self.from_file = True
            elif re.fullmatch(r"-[SWpq]+", arg):
                self.staged, self.worktree = self.staged or "S" in arg, self.worktree or "W" in arg
                self.patch = self.patch or "p" in arg
            elif arg.startswith("-"):
                self.understood = self.understood and arg in _RESTORE_FLAGS
            else:
                self.paths.append(arg)
        self.understood = self.understood and not skip
        self.worktree = self.worktree or not self.staged  # ``--staged`` alone changes only the index

    def trees(self) -> list[str]:
        """What the restore writes, judged whole when its files cannot be listed."""
        if not self.understood or self.from_file:
            return ["."]
        return pathspecs(self.paths) if self.worktree else []

    def plan(self, ask: Ask) -> list[list[str]] | None:
        if not self.understood or self.patch or self.from_file or not self.worktree:
            return None if self.worktree else []
        if not self.paths:
            return []  # git refuses: ``you must specify path(s) to restore``
        source = self.source or ("HEAD" if self.staged else None)  # ``--staged --worktree``: both from HEAD
        if source is None:
            return [diff(paths=self.paths)]
        return [diff(source, paths=self.paths)] if REVISION.match(source) and _commit(source, ask) else None


def _commit(rev: str, ask: Ask) -> bool:
    return ask(["rev-parse", "-q", "--verify", f"{rev}^{{commit}}"]) is not None


def checkout_index_trees(args: list[str]) -> list[str]:
    """``git checkout-index [-a] [--] PATH…``: the paths written (all: the whole tree)."""
    flags = [arg for arg in args if arg.startswith("-") and arg != "--"]
    paths = args[args.index("--") + 1 :] if "--" in args else [arg for arg in args if not arg.startswith("-")]
    if {"-a", "--all", "--stdin"} & set(flags) or any(flag.startswith("--prefix") for flag in flags):
        return ["."]
    return pathspecs(paths)


def update_index_trees(args: list[str]) -> list[str]:
    """``git update-index --cacheinfo MODE,SHA,PATH`` (or ``MODE SHA PATH``) stages content the gate never saw
    at PATH; ``--index-info`` reads entries from stdin (anywhere)."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--index-info":
            out.append(".")
        elif arg == "--cacheinfo" and i + 1 < len(args):
            if args[i + 1].count(",") >= 2:
                out.append(args[i + 1].split(",", 2)[2])
            elif i + 3 < len(args):
                out.append(args[i + 3])
            else:
                out.append(".")
        elif arg.startswith("--cacheinfo="):
            out.append(arg.split(",", 2)[2] if arg.count(",") >= 2 else ".")
    return pathspecs(out)


def plan(sub: str, args: list[str], ask: Ask) -> list[list[str]] | None:
    """The git queries that list what ``git SUB ARGS`` writes (or stages); None when not known."""
    if sub == "restore":
        return Restore(args).plan(ask)
    if sub == "reset":
        return _reset(args, ask)
    if sub == "checkout-index":
        return _checkout_index(args)
    if sub == "read-tree":
        return _read_tree(args, ask)
    return None  # update-index: its named paths (or the whole tree) are judged


def _reset(args: list[str], ask: Ask) -> list[list[str]] | None:
    """``git reset --hard [REV]``: the files that differ between REV (HEAD) and the work tree."""
    revs = [arg for arg in args if not arg.startswith("-")]
    if any(arg.startswith("-") and arg not in _RESET_FLAGS for arg in args) or len(revs) > 1:
        return None
    return over_tree(revs[0] if revs else None, ask)


def _checkout_index(args: list[str]) -> list[list[str]] | None:
    """``git checkout-index``: the files whose index entry differs from the work tree (``--prefix``, ``--stdin``,
    ``--temp``: not worked out)."""
    flags = [arg for arg in (args[: args.index("--")] if "--" in args else args) if arg.startswith("-")]
    if any(flag not in _CHECKOUT_INDEX_FLAGS for flag in flags):
        return None
    paths = args[args.index("--") + 1 :] if "--" in args else [arg for arg in args if not arg.startswith("-")]
    if {"-a", "--all"} & set(flags):
        return [diff()]
    return [diff(paths=paths)] if paths else []


def _read_tree(args: list[str], ask: Ask) -> list[list[str]] | None:
    """``git read-tree [-m|--reset] [-u] REV``: REV's files that differ from the work tree (one tree only)."""
    revs = [arg for arg in args if not arg.startswith("-")]
    flags = [arg for arg in args if arg.startswith("-")]
    if "--empty" in flags and not revs and "-u" not in flags:
        return []
    if any(flag not in _READ_TREE_FLAGS for flag in flags) or len(revs) != 1 or not REVISION.match(revs[0]):
        return None
    return [diff(revs[0])] if ask(["rev-parse", "-q", "--verify", f"{revs[0]}^{{tree}}"]) is not None else None
