"""Parse shell command text into the simple commands it would run.

The gate judges what a command *does*, so the text is parsed with tree-sitter's
Bash grammar (not matched with regular expressions): every simple command gets
its argv with quotes and escapes resolved, ``name`` (the basename of argv[0]
after unwrapping ``sudo``/``env``/``bash -c``/``eval``…, see
:mod:`agentctl.gate.shell_effects`), the files it reads and writes, and an
``opaque`` reason when the parse cannot see what will run (a variable in
command position, ``eval`` of computed text, a download piped into a shell…).

Commands inside pipelines, lists, subshells, functions, loops and command or
process substitutions are all listed. Heredoc bodies and literal text piped in
(``echo 'x' | sh``) are kept as the command's ``stdin``.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import Any

from agentctl.gate import (
    shell_argv,
    shell_code,
    shell_effects,
    shell_paths,
    shell_plain,
    shell_redirects,
    shell_settings,
    shell_statements,
)
from agentctl.gate import shell_kinds as kinds
from agentctl.gate.shell_command import Command as Command
from agentctl.gate.shell_words import MAX_NESTING, WordEvaluator, dedupe

COMPILED = not __file__.endswith(".py")
"""This walk is the mypyc build (``AGENTCTL_COMPILE=1``, see setup.py), not the Python source."""
MAX_DEPTH = 8
"""How deep ``bash -c``/``eval``/scripts are parsed before the command counts as opaque."""


@functools.cache
def _parser() -> Any:
    import tree_sitter
    import tree_sitter_bash

    language = tree_sitter.Language(tree_sitter_bash.language())
    kinds.load(language)
    handlers: dict[str, Callable[[Walker, Any, Command | None], None]] = {
        "command": Walker.simple_statement,
        "pipeline": Walker.pipeline_statement,
        "redirected_statement": Walker.redirected,
        "subshell": Walker.subshell,
        "variable_assignment": Walker.assignment_statement,
        "for_statement": Walker.for_statement,
        "list": Walker.chain,
        "declaration_command": Walker.declaration_statement,
        **dict.fromkeys(("comment", "heredoc_body", "heredoc_start", "heredoc_end"), Walker.skip),
    }
    _HANDLERS.update({kind_id: handler for name, handler in handlers.items() for kind_id in kinds.ids(name)})
    return tree_sitter.Parser(language)


_HANDLERS: dict[int, Callable[[Walker, Any, Command | None], None]] = {}
"""How :meth:`Walker.node` walks each kind of statement, by kind id (any other: its children, in order)."""


def parse(text: str, *, home: str = "~", cwd: str = "", read_file: Any = None, base: str = "") -> list[Command]:
    """All simple commands ``text`` would run, in order (``base``: the absolute directory the call runs in)."""
    walker = Walker(home=home, read_file=read_file)
    walker.cwd = cwd
    walker.base = base
    collecting = gc.isenabled()
    gc.disable()  # the walk's objects all live until it ends: a collection pass mid-walk would only scan them
    try:
        walker.run(text, via=[], depth=0)
    finally:
        if collecting:
            gc.enable()
    return walker.out


class Walker(WordEvaluator):
    """Walks one parse tree (and the trees of nested ``bash -c``/``eval`` text)."""

    def __init__(self, home: str, read_file: Any = None) -> None:
        _parser()  # the grammar's kind ids (shell_kinds), which the walk tests
        self.home = home
        self.read_file = read_file
        self.out: list[Command] = []
        self.cwd = ""
        self.base = ""
        self.oldpwd: str | None = None
        self.dirs: list[str] = []
        self.alts: list[str] = []
        self.vars: dict[str, str] = {}
        self.aliases: dict[str, str] = {}
        self.src = b""
        self.chars: str | None = None
        """The text itself when it is ASCII (byte offsets are character offsets): slicing beats decoding."""
        self.via: list[str] = []
        self.depth = 0
        self.exported: dict[str, str | None] = {}
        """Variables exported to every later command (None: the value is computed at run time)."""
        self.kube_context: str | None = None
        """The kubectl context a literal ``kubectl config use-context X &&`` switched to, for the rest of the chain."""
        self.pending_context: str | None = None
        self.kube_tunnels: list[tuple[str, list[str], list[str]]] = []
        """``kubectl proxy``/``port-forward`` started in this text: (kind, local ports, cluster flags)."""
        self.outfeed: Command | None = None
        """What a ``>(…)`` process substitution in the current command's words reads (that command's output)."""
        self.dotglob = False
        """``shopt -s dotglob`` / ``setopt globdots`` ran: globs also match dot files."""
        self.nesting = 0
        """How many statements and word parts the walk is inside (see MAX_NESTING)."""

    # -- entry points -------------------------------------------------
    def run(self, text: str, via: list[str], depth: int) -> list[Command]:
        """Parse ``text`` (top level or nested) and return the commands it added."""
        start = len(self.out)
        if depth > MAX_DEPTH:
            self.out.append(Command(argv=[], opaque="shell code nested too deep to judge", via=list(via)))
            return self.out[start:]
        saved = (self.src, self.chars, self.via, self.depth)
        self.src, self.via, self.depth = text.encode("utf-8", "surrogateescape"), via, depth
        self.chars = text if text.isascii() else None
        try:
            tree = _parser().parse(self.src)
            if tree.root_node.has_error:
                self.out.append(Command(argv=[], opaque="the shell text does not parse", via=list(via), cwd=self.cwd))
            self.visit(tree.root_node, None)
        finally:
            self.src, self.chars, self.via, self.depth = saved
        return self.out[start:]

    def text(self, node: Any) -> str:
        if self.chars is not None:
            return self.chars[node.start_byte : node.end_byte]
        return self.src[node.start_byte : node.end_byte].decode("utf-8", "surrogateescape")

    # -- statements ---------------------------------------------------
    def node(self, node: Any, feed: Command | None) -> list[Command]:
        """Walk one statement; the commands it added (for a simple command: it, then what it runs)."""
        if node.kind_id in kinds.COMMAND:
            return self.out[self.command_at(node, feed, []) :]
        start = len(self.out)
        self.visit(node, feed)
        return self.out[start:]

    def visit(self, node: Any, feed: Command | None) -> None:
        """:meth:`node` without building the list of what it added."""
        kind_id = node.kind_id
        if kind_id in kinds.COMMAND:  # the most common statement, without a handler's call
            self.command_at(node, feed, [])
            return
        self.nesting += 1  # not restored when it raises: the walk ends there (and the gate judges it opaque)
        if self.nesting > MAX_NESTING:
            raise RecursionError("shell text nested too deep to judge")
        handler = _HANDLERS.get(kind_id)
        if handler is not None:
            handler(self, node, feed)
        else:
            for child in node.named_children:
                self.kube_context = None  # a context switch only carries through ``&&``
                self.visit(child, feed)
        self.nesting -= 1

    def simple_statement(self, node: Any, feed: Command | None) -> None:
        self.command_at(node, feed, [])

    def pipeline_statement(self, node: Any, feed: Command | None) -> None:
        self.pipeline(node.named_children, feed)

    def subshell(self, node: Any, feed: Command | None) -> None:
        saved = (self.cwd, self.oldpwd, list(self.dirs), list(self.alts))
        for child in node.named_children:
            self.visit(child, feed)  # ``curl … | (sh)``: the group's commands read the pipe
        self.cwd, self.oldpwd, self.dirs, self.alts = saved

    def assignment_statement(self, node: Any, feed: Command | None) -> None:
        shell_settings.assigned(self, self.assignment(node, store=True))  # ``PATH=/tmp/x; ls``

    def for_statement(self, node: Any, feed: Command | None) -> None:
        if node.child_by_field_name("variable") is not None:
            self.for_loop(node, feed)
            return
        for child in node.named_children:
            self.kube_context = None
            self.visit(child, feed)

    def declaration_statement(self, node: Any, feed: Command | None) -> None:
        self.declaration(node)

    def skip(self, node: Any, feed: Command | None) -> None:
        """Comments and heredoc parts: their commands are walked with the redirect that holds them."""

    def for_loop(self, node: Any, feed: Command | None) -> None:
        """``for x in a b; do …; done``: the body once per literal value (a few), else with ``x`` unknown."""
        shell_statements.for_loop(self, node, feed)

    def chain(self, node: Any, feed: Command | None) -> None:
        """``a && b`` / ``a || b``: what ``a`` settles (a kubectl context) only holds for ``b`` after ``&&``."""
        comment = kinds.COMMENT
        previous = -1  # the end of the last statement: the operator is the text up to the next one
        for child in node.named_children:  # (cheaper than reading the operators from .children)
            if child.kind_id in comment:
                continue
            if previous >= 0 and not self.span(previous, child.start_byte).lstrip().startswith("&&"):
                self.kube_context = None
            self.visit(child, feed)
            previous = child.end_byte

    def span(self, start: int, end: int) -> str:
        """The source text from byte ``start`` to ``end`` (between two nodes: an operator, spaces, comments)."""
        if self.chars is not None:
            return self.chars[start:end]
        return self.src[start:end].decode("utf-8", "surrogateescape")

    def declaration(self, node: Any) -> None:
        """``export X=v`` / ``declare -x X``: assignments, and the environment of later commands."""
        shell_statements.declaration(self, node)

    def pipeline(self, parts: list[Any], feed: Command | None) -> None:
        upstream = feed
        out = self.out
        for part in parts:
            kind_id = part.kind_id
            if kind_id in kinds.COMMENT:
                continue
            self.kube_context = None  # the parts run at once: none waits for another's context switch
            if kind_id in kinds.COMMAND:  # the next part reads this command (not what its words ran)
                upstream = out[self.command_at(part, upstream, [])]
                continue
            start = len(out)
            self.visit(part, upstream)
            if len(out) > start:
                upstream = out[start] if kind_id in kinds.COMMAND_OR_REDIRECTED else out[-1]
        self.kube_context = None

    def redirected(self, node: Any, feed: Command | None) -> None:
        body = node.child_by_field_name("body")
        redirects: list[Any] = []
        tail: list[Any] = []
        redirect_ids = kinds.REDIRECT
        for child in node.named_children:
            if child != body:
                (redirects if child.kind_id in redirect_ids else tail).append(child)
        for redirect in redirects:  # (a file redirect's children are its descriptor and targets, by the grammar)
            if redirect.kind_id not in kinds.FILE_REDIRECT:
                tail += [c for c in redirect.named_children if c.kind_id in kinds.STATEMENT]
        out = self.out
        if body is not None and body.kind_id in kinds.COMMAND:
            self.command_at(body, feed, redirects)
            last = out[-1]
        else:
            start = len(out)
            if body is not None:
                self.visit(body, feed)
            if len(out) > start:  # ``a && b > f`` / ``a | b > f`` parse as one redirected list: the redirect is b's
                last = out[-1]  # (before the redirects: a heredoc's substitutions add commands)
                self.apply_redirects(last if body.kind_id in kinds.LIST_OR_PIPELINE else out[start], redirects)
            else:
                last = Command(argv=[":"], name=":", cwd=self.cwd, via=list(self.via))
                self.apply_redirects(last, redirects)
                out.append(last)
        if tail:  # ``cat <<EOF | sh``: the pipeline continues inside the heredoc redirect
            self.pipeline(tail, last)

    def assignment(self, node: Any, store: bool) -> tuple[str, str] | None:
        """``name=value``: the pair (kept as a known variable when ``store`` and the value is literal)."""
        return shell_statements.assignment(self, node, store)

    # -- simple commands ------------------------------------------------
    def command(self, node: Any, feed: Command | None, redirects: list[Any]) -> list[Command]:
        """Walk one simple command; it, then the commands it runs (``bash -c …``, its words' substitutions)."""
        return self.out[self.command_at(node, feed, redirects) :]

    def command_at(self, node: Any, feed: Command | None, redirects: list[Any]) -> int:
        """:meth:`command`, answering where in ``out`` the command is."""
        chars = self.chars
        whole = chars[node.start_byte : node.end_byte] if chars is not None else ""
        plain = bool(whole) and _PLAIN_CHARS.issuperset(whole) and _plain_name(whole) and not node.has_error
        if plain:  # ``git push -f origin``: only plain words, one per whitespace-separated token
            argv = whole.split()
            cmd = Command.simple(argv, self.cwd, self.alts[:], self.via[:], [True] * len(argv))
            scan = "[" in whole or "BASH_FUNC_" in whole  # what shell_code.in_words looks for
        elif whole and (found := shell_plain.words(whole, node, self)) is not None:  # ``echo "in $dir"``
            argv, literal = found
            cmd = Command.simple(argv, self.cwd, self.alts[:], self.via[:], literal)
            scan = True
        else:
            cmd, own = shell_argv.evaluate(self, node, feed, whole)
            argv = cmd.argv
            scan = True
            if own:  # the statement's redirects, then the command's own
                redirects = [*redirects, *own]
        if feed is not None:
            upstream = feed.name or (feed.argv[0] if feed.argv else "")
            if feed.stdin_names:
                cmd.stdin_names = dedupe([*feed.stdin_names, upstream])
            elif upstream:
                cmd.stdin_names = [upstream]
            cmd.stdin = shell_effects.output_text(feed)
            cmd.feed = feed
        if redirects:
            shell_redirects.apply(self, cmd, redirects)
        out = self.out
        start = len(out)
        out.append(cmd)
        if not argv:
            for name, value in cmd.assigned.items():
                self.vars[name] = value
            return start
        self.pending_context = None
        if scan or cmd.assigned:
            shell_code.in_words(self, cmd)
        shell_effects.analyse(cmd, self)
        switched = self.switched_context()  # set by ``kubectl config use-context X``, in analyse()
        if switched is not None:
            self.kube_context = switched or None
        if cmd.name in ("cd", "pushd", "popd"):
            shell_paths.change_dir(self, cmd)
        return start

    def switched_context(self) -> str | None:
        """The context the command just judged switched kubectl to ("": unknown; None: it did not)."""
        return self.pending_context

    def apply_redirects(self, cmd: Command, redirects: list[Any]) -> None:
        shell_redirects.apply(self, cmd, redirects)

    # -- words ----------------------------------------------------------


_PLAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:,@%+-= \t")
"""A command made of these only (no quotes, expansions, escapes, globs, braces, redirects, comments), with no
``=`` in its first word (an assignment), is plain words: its argv is its text split on blanks, as the
node-by-node walk would find it."""


def _plain_name(text: str) -> bool:
    """No ``=`` before the first blank: the first word is a command name, not an assignment."""
    equals = text.find("=")
    return equals < 0 or " " in text[:equals] or "\t" in text[:equals]
