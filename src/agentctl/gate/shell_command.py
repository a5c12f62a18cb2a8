"""One simple command as the gate's shell parse sees it (see :mod:`agentctl.gate.shell`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True, init=False)
class Command:
    """One simple command, as it would run.

    ``reads``/``writes``: files it reads and writes. ``opaque``: why the parse cannot see what it runs ("" when
    it can). ``code_from``: the commands whose output it runs as code (``curl … | sh``). ``stdin``: text fed on
    its standard input when known (heredoc, here-string, ``echo … |``); ``stdin_names``: the commands upstream
    in the pipeline, ``feed`` the one right before it. ``cwd``: the directory it runs in, as written (``cd x &&
    …``; "" for the call's own); ``alt_cwds``: others it may run in (where it was before a ``cd`` that may
    fail). ``via``: wrappers it was unwrapped from (``sudo``, ``bash -c``, ``xargs``…). ``redirects``: output
    redirections (operator, target). ``literal``: per argv word, whether its text is fully known. ``trees``:
    directories whose whole content it may replace or delete (``tar x``, ``cp -r a/. .``, ``mount``).
    ``deletes``: targets it deletes recursively (``rm -r``, ``find -delete``, ``git clean``), judged as
    home/root wipes. ``scans``: directories it reads recursively (:class:`agentctl.gate.scan.Scan`).
    ``links``: paths a link it creates makes reachable under another name (``ln -s .env x``). ``spreads``:
    (source glob, directory), ``cp -r evil/* .`` puts each name the glob matches in the directory.
    """

    argv: list[str]
    name: str
    reads: list[str]
    writes: list[str]
    opaque: str
    code_from: list[str]
    stdin: str | None
    stdin_names: list[str]
    cwd: str
    alt_cwds: list[str]
    via: list[str]
    redirects: list[tuple[str, str]]
    literal: list[bool]
    assigned: dict[str, str]
    feed: Command | None
    trees: list[str]
    deletes: list[str]
    scans: list[Any]
    links: list[str]
    spreads: list[tuple[str, str]]

    def __init__(  # hand-written: one is built per simple command, and a dataclass's default factories cost
        self,
        argv: list[str],
        name: str = "",
        reads: list[str] | None = None,
        writes: list[str] | None = None,
        opaque: str = "",
        code_from: list[str] | None = None,
        stdin: str | None = None,
        stdin_names: list[str] | None = None,
        cwd: str = "",
        alt_cwds: list[str] | None = None,
        via: list[str] | None = None,
        redirects: list[tuple[str, str]] | None = None,
        literal: list[bool] | None = None,
        assigned: dict[str, str] | None = None,
        feed: Command | None = None,
        trees: list[str] | None = None,
        deletes: list[str] | None = None,
        scans: list[Any] | None = None,
        links: list[str] | None = None,
        spreads: list[tuple[str, str]] | None = None,
    ) -> None:
        self.argv, self.name, self.opaque, self.stdin, self.cwd, self.feed = argv, name, opaque, stdin, cwd, feed
        self.reads = [] if reads is None else reads
        self.writes = [] if writes is None else writes
        self.code_from = [] if code_from is None else code_from
        self.stdin_names = [] if stdin_names is None else stdin_names
        self.alt_cwds = [] if alt_cwds is None else alt_cwds
        self.via = [] if via is None else via
        self.redirects = [] if redirects is None else redirects
        self.literal = [] if literal is None else literal
        self.assigned = {} if assigned is None else assigned
        self.trees = [] if trees is None else trees
        self.deletes = [] if deletes is None else deletes
        self.scans = [] if scans is None else scans
        self.links = [] if links is None else links
        self.spreads = [] if spreads is None else spreads

    @classmethod
    def simple(cls, argv: list[str], cwd: str, alt_cwds: list[str], via: list[str], literal: list[bool]) -> Command:
        """A command as the walk first finds it (the rest empty): the same as ``Command(argv, cwd=…, …)``,
        without ``__init__``'s defaulting (one is built per simple command of a long script)."""
        cmd = cls.__new__(cls)  # one assignment a line: cheaper than unpacking tuples
        cmd.argv = argv
        cmd.name = ""
        cmd.opaque = ""
        cmd.stdin = None
        cmd.cwd = cwd
        cmd.feed = None
        cmd.reads = []
        cmd.writes = []
        cmd.code_from = []
        cmd.stdin_names = []
        cmd.alt_cwds = alt_cwds
        cmd.via = via
        cmd.redirects = []
        cmd.literal = literal
        cmd.assigned = {}
        cmd.trees = []
        cmd.deletes = []
        cmd.scans = []
        cmd.links = []
        cmd.spreads = []
        return cmd

    def as_cel(self) -> dict[str, Any]:
        return {
            "argv": self.argv,
            "name": self.name,
            "reads": self.reads,
            "writes": self.writes,
            "opaque": bool(self.opaque),
            "reason": self.opaque,
            "code_from": self.code_from,
            "via": self.via,
        }
