"""Which files a branch move would change: ``git checkout``/``switch BRANCH``, ``rebase``, ``revert``.

Used by :mod:`agentctl.gate.git_incoming`, which asks git the queries planned here. A switch changes the
files that differ between ``HEAD`` and the branch (local changes are carried over, or git refuses); a forced
one also discards local changes, so it changes the files that differ between the branch and the work tree.
A rebase checks out its new base, then replays the commits ``UPSTREAM..BRANCH``: it may write the files that
differ between ``HEAD`` (or ``BRANCH``) and the new base, and every file a replayed commit touches. A revert
writes the files the commit changed; ``checkout REV -- PATH`` the files under PATH that differ from REV
(restores from the index or HEAD: :mod:`agentctl.gate.git_index`). Anything not understood (an option, a
range, a revision git cannot resolve) is ``None``: the caller judges the whole tree (fail closed).
"""

from __future__ import annotations

import re
from collections.abc import Callable

Ask = Callable[[list[str]], "list[str] | None"]
"""Runs a read-only git query in the command's directory: its output lines (None: git failed)."""

REVISION = re.compile(r"^[A-Za-z0-9_@][A-Za-z0-9_./@{}~^+-]*$")

_SWITCH_FLAGS = frozenset({
    "-q", "--quiet", "--progress", "--no-progress", "-m", "--merge", "--no-track", "-t", "--track", "--guess",
    "--no-guess", "--ignore-other-worktrees", "--overwrite-ignore", "--no-overwrite-ignore", "--detach", "-d",
    "--no-recurse-submodules", "--ours", "--theirs",
})  # fmt: skip
_FORCED = frozenset({"-f", "--force", "--discard-changes"})
_NEW_BRANCH = frozenset({"-b", "-B", "-c", "-C", "--create", "--force-create"})
_VALUED_EQ = ("--track=", "--conflict=")

_REBASE_FLAGS = frozenset({
    "-q", "--quiet", "-v", "--verbose", "--stat", "-n", "--no-stat", "--autostash", "--no-autostash",
    "--no-verify", "--verify", "--signoff", "--committer-date-is-author-date", "--reset-author-date",
    "--ignore-date", "--ignore-whitespace", "--update-refs", "--no-update-refs", "--keep-empty", "--no-keep-empty",
    "--reapply-cherry-picks", "--no-reapply-cherry-picks", "--fork-point", "--no-fork-point", "-m", "--merge",
    "--apply", "--rerere-autoupdate", "--no-rerere-autoupdate", "--no-ff", "-f", "--force-rebase",
})  # fmt: skip
_REBASE_VALUED = frozenset({"--exec", "-x", "--onto"})
_REBASE_VALUED_EQ = ("--empty=", "--whitespace=", "--exec=", "--onto=")

_REVERT_FLAGS = frozenset({
    "--no-edit", "--edit", "-e", "-n", "--no-commit", "-s", "--signoff", "--no-rerere-autoupdate",
    "--rerere-autoupdate",
})  # fmt: skip


class Switch:
    """``git checkout``/``git switch`` arguments, as far as they are understood (``ok`` False: not)."""

    def __init__(self, args: list[str]) -> None:
        self.ok, self.forced, self.new_branch, self.resets, self.positionals = True, False, False, False, []
        self.paths: list[str] = []  # after ``--``
        skip = False
        for i, arg in enumerate(args):
            if skip:
                skip = False
            elif arg == "--":
                self.paths = args[i + 1 :]
                break
            elif arg in _NEW_BRANCH:
                self.new_branch, skip = True, True
                self.resets = self.resets or arg in ("-B", "-C", "--force-create")
            elif arg in _FORCED:
                self.forced = True
            elif arg == "-":
                self.positionals.append("@{-1}")  # the branch checked out before
            elif arg.startswith("-"):
                self.ok = self.ok and (arg in _SWITCH_FLAGS or arg.startswith(_VALUED_EQ))
            else:
                self.positionals.append(arg)
        self.ok = self.ok and not skip

    def changes_nothing(self) -> bool:
        """``git checkout -b new``, ``git switch -c new``, a bare ``git checkout``: no other revision comes in
        (forced, HEAD's files are written over the work tree, as by ``git reset --hard``: not nothing)."""
        return self.ok and not self.positionals and not self.paths and not self.forced


def plan(sub: str, args: list[str], ask: Ask) -> list[list[str]] | None:
    """The git queries that list what ``git SUB ARGS`` changes (``[]``: nothing); None when not known."""
    if sub in ("checkout", "switch"):
        return _switch(sub, Switch(args), ask)
    if sub == "rebase":
        return _rebase(args, ask)
    if sub == "revert":
        revs = positionals(args, _REVERT_FLAGS, frozenset({"-m", "--mainline"}))
        if not revs or any(".." in rev for rev in revs):
            return None
        return [[*_TREE, "--end-of-options", rev] for rev in revs]
    return None


_TREE = ["diff-tree", "-z", "--no-commit-id", "--name-only", "-r", "-m", "--root", "--no-renames"]


def stash_push(rest: list[str]) -> bool:
    """``git stash``, ``stash push|save …``, ``stash -u …``: the work tree goes back to HEAD (``rest``: the
    words after ``stash``)."""
    return not rest or rest[0] in ("push", "save") or rest[0].startswith("-")


def diff(*specs: str, paths: list[str] | None = None) -> list[str]:
    """``git diff`` naming the files that differ (one revision: against the work tree)."""
    return ["diff", "-z", "--name-only", "--no-renames", "--no-ext-diff", "--no-textconv", *specs, "--", *(paths or [])]


def over_tree(rev: str | None, ask: Ask) -> list[list[str]] | None:
    """The files written when REV (HEAD when None) replaces the index and the work tree, as by ``git reset
    --hard``: those that differ between REV and the work tree. Without a commit yet, git empties the index and
    deletes every file it held."""
    if rev is not None and not REVISION.match(rev):
        return None
    if _commit(rev or "HEAD", ask):
        return [diff(rev or "HEAD")]
    if rev is not None or ask(["rev-parse", "--git-dir"]) is None:
        return None
    return [["ls-files", "-z", "--full-name", "--", ":/"]]


def _commit(rev: str, ask: Ask) -> bool:
    return ask(["rev-parse", "-q", "--verify", f"{rev}^{{commit}}"]) is not None


def _switch(sub: str, sw: Switch, ask: Ask) -> list[list[str]] | None:
    if sw.ok and sw.paths and not sw.positionals and not sw.new_branch and sub == "checkout":
        return [diff(paths=sw.paths)]  # ``git checkout -- PATH``: PATH as in the index
    if sw.ok and not sw.positionals and not sw.paths:
        return over_tree(None, ask) if sw.forced else []  # ``git checkout -f``: HEAD's files over the work tree
    if not sw.ok or (sw.paths and (sw.new_branch or sw.forced or len(sw.positionals) != 1)):
        return None
    if sw.paths:  # ``git checkout REV -- PATH…``: those paths as in REV
        rev = sw.positionals[0]
        return [diff(rev, paths=sw.paths)] if REVISION.match(rev) and _commit(rev, ask) else None
    target, rest = sw.positionals[0], sw.positionals[1:]
    if sw.new_branch and rest:
        return None
    if not REVISION.match(target) or not _commit(target, ask):
        guess = not sw.new_branch and not rest and REVISION.match(target)  # git guesses for a lone name only
        remote = _guessed(target, ask) if guess else None  # a new branch from the one remote that has it
        if remote is None and sub == "checkout" and not sw.new_branch and not sw.forced:
            return [diff(paths=sw.positionals)]  # ``git checkout FILE``: FILE as in the index
        if remote is None:
            return None
        target = remote
    if rest:  # ``git checkout REV PATH…``: those paths as in REV
        return [diff(target, paths=rest)] if sub == "checkout" and not sw.new_branch else None
    return [diff(target) if sw.forced else diff("HEAD", target)]


def _guessed(name: str, ask: Ask) -> str | None:
    """The remote-tracking branch ``git checkout NAME`` makes a local branch from (exactly one remote has it)."""
    refs = ask(["for-each-ref", "--format=%(refname)", "refs/remotes/"])
    found = [ref for ref in refs or [] if ref.count("/") >= 3 and ref.split("/", 3)[3] == name]
    return found[0] if len(found) == 1 else None


def _rebase(args: list[str], ask: Ask) -> list[list[str]] | None:
    onto, skip, revs = None, "", []
    for arg in args:
        if skip:
            onto = arg if skip == "--onto" else onto
            skip = ""
        elif arg in _REBASE_VALUED:
            skip = arg
        elif arg.startswith("-"):
            if arg.startswith("--onto="):
                onto = arg.split("=", 1)[1]
            elif arg not in _REBASE_FLAGS and not arg.startswith(_REBASE_VALUED_EQ):
                return None  # -i, --root, --keep-base, -r, -s/-X…: not worked out
        else:
            revs.append(arg)
    if skip or len(revs) > 2 or not all(REVISION.match(r) for r in [*revs, *([onto] if onto else [])]):
        return None
    if len(revs) < 2 and not _commit("HEAD", ask):
        return []  # no commit yet: git cannot rebase (``Could not resolve HEAD``), nothing changes
    upstream = revs[0] if revs else "@{upstream}"
    branch = revs[1] if len(revs) > 1 else None
    base = onto or upstream
    if not all(_commit(rev, ask) for rev in [upstream, base, *([branch] if branch else [])]):
        return None
    start = branch or "HEAD"
    queries = [diff(start, base), ["log", "-z", "--format=", "--name-only", "--no-renames", f"{upstream}..{start}"]]
    return [diff("HEAD", branch), *queries] if branch else queries


def positionals(
    args: list[str], flags: frozenset[str], valued: frozenset[str], revision: re.Pattern[str] = REVISION
) -> list[str] | None:
    """The revisions among ``args``; None when an option is not among ``flags``/``valued`` or a word is not a
    plain revision (``revision``)."""
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in valued:
            skip = True
        elif arg.startswith("-"):
            if arg not in flags and arg.split("=", 1)[0] not in valued:
                return None
        elif revision.match(arg):
            out.append(arg)
        else:
            return None
    return out
