"""Which files a git command that brings in another revision would change, asked of git itself.

``git merge``/``cherry-pick``/``stash pop``, and the branch moves of :mod:`agentctl.gate.git_moves`
(``checkout``/``switch BRANCH``, ``rebase``, ``revert``), rewrite the work tree with content the
gate never saw (see ``_rewrites_tree`` in :mod:`agentctl.gate.shell_writers`). Judged as
"the whole tree", they would be refused in every repository that has a protected file (CI
configuration, agent instructions), so an everyday ``git merge feature/x`` could never run.
When the revisions are literal and already in the repository, git lists the files the command
would change (read-only plumbing, no hooks, no fsmonitor); only those are judged. Anything
else (``git pull``: the revision is not fetched yet; ``git am``/``read-tree -u``: not worked
out; options not understood; git fails) is ``None``: the caller keeps judging the whole tree (fail closed).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from agentctl.gate import git_index, git_moves
from agentctl.gate.shell_paths import unresolvable
from agentctl.sources import gitcli

if TYPE_CHECKING:
    from agentctl.gate.shell_command import Command

_TIMEOUT = 5
_MAX_FILES = 5000

# options that change nothing about which files land in the tree (anything else: not understood)
_MERGE_FLAGS = frozenset({
    "--no-ff", "--ff", "--ff-only", "--no-edit", "--edit", "-e", "--squash", "--no-squash", "--commit", "--no-commit",
    "-q", "--quiet", "-v", "--verbose", "--stat", "-n", "--no-stat", "--log", "--no-log", "--signoff",
    "--no-signoff", "--no-verify", "--progress", "--no-progress", "--no-autostash", "--no-rerere-autoupdate",
})  # fmt: skip
_MERGE_VALUED = frozenset({"-m", "--message"})
_PICK_FLAGS = frozenset({
    "-x", "-n", "--no-commit", "-s", "--signoff", "--ff", "--allow-empty", "--keep-redundant-commits", "-e", "--edit",
    "--no-edit",
})  # fmt: skip
_STASH_FLAGS = frozenset({"--index", "-q", "--quiet"})
_REVISION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./@{}~^+-]*$")


def changed(cmd: Command, others: list[Command], here: Path | None) -> list[Path] | None:
    """The files ``cmd`` (a git tree rewrite) would write, absolute; None when that cannot be known.

    ``others`` are the call's other commands: any of them could move a ref or write into ``.git``
    before ``cmd`` runs (``git fetch x && git merge FETCH_HEAD``), so git is asked only when they
    all just look around.
    """
    if cmd.name != "git" or here is None or not all(cmd.literal[1:]) or cmd.opaque or cmd.via or cmd.assigned:
        return None
    if cmd.alt_cwds:
        return None
    others = [other for other in others if other is not cmd and not _looks_around(other)]
    words = _after_globals(cmd.argv[1:])
    if not words:
        return None
    sub, args = words[0], words[1:]
    pushing = sub == "stash" and git_moves.stash_push(args)
    if not all(
        _runs_inside(other, cmd) or _commits_work_tree(other) or (pushing and _judged_move(other)) for other in others
    ):
        return None
    plan = _plan(sub, args, here)
    if plan is None:
        return None
    if any(_commits_work_tree(other) for other in others):
        plan = [*plan, *_WORK_TREE]  # the commit (or stash) may hold any file changed since HEAD
    top = _git(here, ["rev-parse", "--show-toplevel"])
    if top is None or len(top) != 1:
        return None
    names: list[str] = []
    for query in plan:
        listed = _git(here, query)
        if listed is None:
            return None
        names += listed
        if len(names) > _MAX_FILES:
            return None
    return [Path(top[0]) / name for name in dict.fromkeys(names)]


_GIT_READS = frozenset({"status", "log", "diff", "show", "rev-parse", "describe", "shortlog", "ls-files"})
_LOOKERS = frozenset({"cd", "pushd", "popd", "pwd", "echo", "printf", "true", ":", "ls", "cat", "head", "tail"})


def _looks_around(other: Command) -> bool:
    """A command that changes nothing a later git command reads: a read-only git subcommand, ``cd``, ``echo``…"""
    if other.opaque or other.writes or other.trees or other.deletes or other.links or other.spreads:
        return False
    if other.name == "git":
        words = _after_globals(other.argv[1:])
        if words[:1] in (["checkout"], ["switch"]):  # ``git checkout -b new``: a new branch where HEAD is
            switch = git_moves.Switch(words[1:])
            return switch.changes_nothing() and not switch.resets
        return bool(words) and words[0] in _GIT_READS
    return other.name in _LOOKERS


_WORK_TREE = [git_moves.diff("HEAD"), ["ls-files", "-z", "-o", "--exclude-standard", "--full-name", "--", ":/"]]
"""The files that differ from HEAD in the index or the work tree, and the untracked ones (not ignored)."""


def _commits_work_tree(other: Command) -> bool:
    """``git add``, ``git commit``, ``git stash [push]``: HEAD (or the stash) moves to hold the work tree's own
    changes, so a later branch move may also write any file changed since HEAD (listed with :data:`_WORK_TREE`).
    Not with ``add -f`` or ``stash --all`` (ignored files) nor ``stash -p``."""
    if other.name != "git" or other.opaque or other.assigned or other.writes or other.deletes:
        return False
    if other.links or other.spreads:
        return False
    words = _after_globals(other.argv[1:])
    sub, rest = (words[0], words[1:]) if words else ("", [])
    if other.trees and not (sub == "stash" and other.trees == ["."]):  # a stash push puts back HEAD's files
        return False
    if sub == "add":
        return not {"-f", "--force"} & set(rest)
    if sub == "stash" and git_moves.stash_push(rest):
        return not {"-a", "--all", "-p", "--patch"} & set(rest)
    return sub == "commit"


_MOVES = frozenset({"checkout", "switch", "rebase", "revert", "merge", "cherry-pick"})


def _judged_move(other: Command) -> bool:
    """``git stash && git switch main``: a branch move or merge, itself judged by the files it changes (it rewrites
    the tree as in the revision it brings; ``git stash`` then puts back what that revision has, already judged).
    Not ``reset``, ``update-ref``…: they move HEAD without writing, and the stash would write what HEAD has."""
    if other.name != "git" or other.opaque or other.assigned or "." not in other.trees:
        return False
    words = _after_globals(other.argv[1:])
    return bool(words) and (words[0] in _MOVES or (words[0] == "stash" and words[1:2] in (["pop"], ["apply"])))


def _runs_inside(other: Command, cmd: Command) -> bool:
    """``git rebase --exec 'make test' …``: a command the rebase runs between commits that stays out of git
    (no git command, nothing written into a ``.git`` directory or a place only known at run time)."""
    if other.via[: len(cmd.via) + 1] != [*cmd.via, "git rebase"] or other.opaque or other.name == "git":
        return False
    places = [*other.writes, *other.trees, *other.deletes, *other.links, *(d for _, d in other.spreads)]
    places += [other.cwd, *other.alt_cwds]
    return not any(".git" in place.split("/") or unresolvable(place) for place in places)


def _after_globals(argv: list[str]) -> list[str]:
    """The subcommand and its arguments (``-C DIR`` is handled by the caller's ``here``; ``-c`` is not understood)."""
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        if argv[i] == "-C":
            i += 2
        elif argv[i] in ("--no-pager", "-P", "--no-replace-objects"):
            i += 1
        else:
            return []
    return argv[i:]


def _plan(sub: str, args: list[str], here: Path) -> list[list[str]] | None:
    """The git queries that list what ``git SUB ARGS`` changes."""
    if sub in ("checkout", "switch", "rebase", "revert"):
        return git_moves.plan(sub, args, lambda query: _git(here, query))
    if sub in ("restore", "reset", "checkout-index", "read-tree", "update-index"):
        return git_index.plan(sub, args, lambda query: _git(here, query))
    if sub == "merge":
        revs = git_moves.positionals(args, _MERGE_FLAGS, _MERGE_VALUED, _REVISION)
        return [git_moves.diff(f"HEAD...{rev}") for rev in revs] if revs else None
    if sub == "cherry-pick":
        revs = git_moves.positionals(args, _PICK_FLAGS, frozenset(), _REVISION)
        if not revs or any(".." in rev for rev in revs):
            return None
        tree = ["diff-tree", "-z", "--no-commit-id", "--name-only", "-r", "-m", "--root", "--no-renames"]
        return [[*tree, "--end-of-options", rev] for rev in revs]
    if sub == "stash" and git_moves.stash_push(args):  # what differs from HEAD (a moved HEAD: anything)
        if _git(here, ["rev-parse", "-q", "--verify", "HEAD^{commit}"]) is None:
            # no commit yet: git refuses to stash (nothing changes); not a repository: not known
            return [] if _git(here, ["rev-parse", "--git-dir"]) is not None else None
        if {"-a", "--all"} & set(args):  # ignored files too
            return [_WORK_TREE[0], ["ls-files", "-z", "-o", "--full-name", "--", ":/"]]
        return list(_WORK_TREE) if {"-u", "--include-untracked"} & set(args) else _WORK_TREE[:1]
    if sub == "stash" and args[:1] in (["pop"], ["apply"]):
        refs = git_moves.positionals(args[1:], _STASH_FLAGS, frozenset(), _REVISION)
        if refs is None or len(refs) > 1:
            return None
        ref = refs[0] if refs else "stash@{0}"
        ref = f"stash@{{{ref}}}" if ref.isdigit() else ref
        if not _REVISION.match(ref):
            return None
        return [["stash", "show", "-z", "--name-only", "--include-untracked", "--no-renames", ref]]
    return None  # pull, am: not worked out here


def _git(here: Path, query: list[str]) -> list[str] | None:
    return gitcli.names(here, query, _TIMEOUT)
