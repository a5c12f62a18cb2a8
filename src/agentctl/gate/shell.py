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
import itertools
from typing import Any

from agentctl.gate import shell_code, shell_effects, shell_paths, shell_redirects, shell_settings
from agentctl.gate.shell_command import Command as Command
from agentctl.gate.shell_quoting import glued_source, joins, lost_words
from agentctl.gate.shell_words import MAX_NESTING, Word, WordEvaluator, dedupe, glue

MAX_DEPTH = 8
"""How deep ``bash -c``/``eval``/scripts are parsed before the command counts as opaque."""


_JOIN = b"\\\n"
"""A backslash-newline between two words: the shell removes it and reads one word."""


_KIND_IDS: dict[str, int] = {}
"""Node kind ids of the grammar (comparing ints beats building each node's type name)."""
_WORD_ID = _NAME_ID = _RAW_ID = _COMMAND_ID = -1


@functools.cache
def _parser() -> Any:
    import tree_sitter
    import tree_sitter_bash

    global _WORD_ID, _NAME_ID, _RAW_ID, _COMMAND_ID
    language = tree_sitter.Language(tree_sitter_bash.language())
    kinds = ("word", "command_name", "raw_string", "command")
    _KIND_IDS.update({kind: language.id_for_node_kind(kind, True) or -1 for kind in kinds})
    _WORD_ID, _NAME_ID, _RAW_ID, _COMMAND_ID = (_KIND_IDS[kind] for kind in kinds)
    return tree_sitter.Parser(language)


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
        self.nesting = 0
        """How many statements and word parts the walk is inside (see MAX_NESTING)."""
        """``shopt -s dotglob`` / ``setopt globdots`` ran: globs also match dot files."""

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
            self.node(tree.root_node, None)
        finally:
            self.src, self.chars, self.via, self.depth = saved
        return self.out[start:]

    def text(self, node: Any) -> str:
        if self.chars is not None:
            return self.chars[node.start_byte : node.end_byte]
        return self.src[node.start_byte : node.end_byte].decode("utf-8", "surrogateescape")

    # -- statements ---------------------------------------------------
    def node(self, node: Any, feed: Command | None) -> list[Command]:
        self.nesting += 1  # not restored when it raises: the walk ends there (and the gate judges it opaque)
        if self.nesting > MAX_NESTING:
            raise RecursionError("shell text nested too deep to judge")
        if node.kind_id == _COMMAND_ID:
            added = self.command(node, feed, [])
            self.nesting -= 1
            return added
        kind = node.type
        start = len(self.out)
        if kind == "pipeline":
            self.pipeline(node.named_children, feed)
        elif kind == "redirected_statement":
            self.redirected(node, feed)
        elif kind == "subshell":
            saved = (self.cwd, self.oldpwd, list(self.dirs), list(self.alts))
            for child in node.named_children:
                self.node(child, feed)  # ``curl … | (sh)``: the group's commands read the pipe
            self.cwd, self.oldpwd, self.dirs, self.alts = saved
        elif kind == "variable_assignment":
            shell_settings.assigned(self, self.assignment(node, store=True))  # ``PATH=/tmp/x; ls``
        elif kind == "for_statement" and node.child_by_field_name("variable") is not None:
            self.for_loop(node, feed)
        elif kind == "list":
            self.chain(node, feed)
        elif kind == "declaration_command":
            self.declaration(node)
        elif kind in ("comment", "heredoc_body", "heredoc_start", "heredoc_end"):
            pass
        else:
            for child in node.named_children:
                self.kube_context = None  # a context switch only carries through ``&&``
                self.node(child, feed)
        self.nesting -= 1
        return self.out[start:]

    def for_loop(self, node: Any, feed: Command | None) -> None:
        """``for x in a b; do …; done``: the body once per literal value (a few), else with ``x`` unknown."""
        name = self.text(node.child_by_field_name("variable"))
        values = [w for v in node.children_by_field_name("value") for w in self.words(v)]
        body = node.child_by_field_name("body")
        known = values and len(values) <= _MAX_LOOP and all(w.literal for w in values)
        for word in values if known else [None]:
            if word is None:
                self.vars.pop(name, None)
            else:
                self.vars[name] = word.text
            if body is not None:
                self.node(body, feed)
        self.vars.pop(name, None)

    def chain(self, node: Any, feed: Command | None) -> None:
        """``a && b`` / ``a || b``: what ``a`` settles (a kubectl context) only holds for ``b`` after ``&&``."""
        previous = None
        for child in node.named_children:  # the operators are the text between them (cheaper than .children)
            if child.type == "comment":
                continue
            if previous is not None and not self.between(previous, child).lstrip().startswith("&&"):
                self.kube_context = None
            self.node(child, feed)
            previous = child

    def between(self, left: Any, right: Any) -> str:
        """The source text between two sibling nodes (an operator, with spaces and comments)."""
        if self.chars is not None:
            return self.chars[left.end_byte : right.start_byte]
        return self.src[left.end_byte : right.start_byte].decode("utf-8", "surrogateescape")

    def declaration(self, node: Any) -> None:
        """``export X=v`` / ``declare -x X``: assignments, and the environment of later commands."""
        from agentctl.gate import shell_runners

        keyword = self.text(node.children[0]) if node.children else ""
        exporting = keyword == "export"
        exported: dict[str, str | None] = {}
        flags = ""
        for child in node.named_children:
            if child.type == "word" and keyword in ("declare", "typeset", "local") and self.text(child)[:1] == "-":
                exporting |= "x" in self.text(child)
                flags += self.text(child)[1:]
            elif child.type == "variable_assignment":
                pair = self.assignment(child, store=True)
                if pair:
                    shell_paths.attributes(self, pair[0], flags)
                if pair and exporting:  # a computed value keeps its text (``$HOME/bin:$PATH``): "$" marks it
                    exported[pair[0]] = self.vars.get(pair[0], pair[1])
            elif child.type == "variable_name" and exporting:
                exported[self.text(child)] = self.vars.get(self.text(child), "")
            else:
                self.node(child, None)
        self.exported.update(exported)
        if shell_runners.WATCHED.intersection(exported):  # judged where it is set: every later command inherits it
            holder = Command(argv=[keyword], name=keyword, literal=[True], cwd=self.cwd, via=list(self.via))
            self.out.append(holder)
            shell_runners.environment(holder, {**self.exported, **exported}, self)

    def pipeline(self, parts: list[Any], feed: Command | None) -> None:
        upstream = feed
        for part in parts:
            if part.type == "comment":
                continue
            self.kube_context = None  # the parts run at once: none waits for another's context switch
            added = self.node(part, upstream)
            if added:
                upstream = added[0] if part.type in ("command", "redirected_statement") else added[-1]
        self.kube_context = None

    def redirected(self, node: Any, feed: Command | None) -> None:
        body = node.child_by_field_name("body")
        redirects: list[Any] = []
        tail: list[Any] = []
        for child in node.named_children:
            if child != body:
                (redirects if child.type.endswith("redirect") else tail).append(child)
        for redirect in redirects:
            tail += [c for c in redirect.named_children if c.type in _STATEMENTS]
        if body is not None and body.type == "command":
            added = self.command(body, feed, redirects)
        else:
            added = self.node(body, feed) if body is not None else []
            if added:  # ``a && b > f`` / ``a | b > f`` parse as one redirected list: the redirect is b's
                self.apply_redirects(added[-1] if body.type in ("list", "pipeline") else added[0], redirects)
            else:
                holder = Command(argv=[":"], name=":", cwd=self.cwd, via=list(self.via))
                self.apply_redirects(holder, redirects)
                self.out.append(holder)
                added = [holder]
        if tail:  # ``cat <<EOF | sh``: the pipeline continues inside the heredoc redirect
            self.pipeline(tail, added[-1])

    def assignment(self, node: Any, store: bool) -> tuple[str, str] | None:
        name_node = node.child_by_field_name("name")
        value = node.child_by_field_name("value")
        name = self.text(name_node) if name_node is not None else ""
        words = self.words(value) if value is not None else [Word("")]
        text = " ".join(w.text for w in words)
        index = name_node.child_by_field_name("index") if name_node is not None else None
        if index is not None:  # ``a[$(x)]=1``: the subscript's substitutions run
            self.words(index)
        if store and name and all(w.literal for w in words):
            shell_code.assigned(self, name, text)
        if store and name:
            if all(w.literal for w in words):
                self.vars[name] = text
            else:
                self.vars.pop(name, None)
        return name, text

    # -- simple commands ------------------------------------------------
    def command(self, node: Any, feed: Command | None, redirects: list[Any]) -> list[Command]:
        argv: list[str] = []
        literal: list[bool] = []
        subs: dict[int, list[str]] = {}  # per word index: the commands substituted into it
        assigned: dict[str, str] = {}
        inner_redirects = redirects  # copied before the first redirect of its own is added
        saved_feed, self.outfeed = self.outfeed, feed
        joined_at = -1  # the end byte of the last word, to join words split by ``\\<newline>``
        node_from = 0  # where the argv words of the last argument node start
        src, chars = self.src, self.chars
        word_id, name_id, raw_id = _WORD_ID, _NAME_ID, _RAW_ID
        whole = chars[node.start_byte : node.end_byte] if chars is not None else ""
        plain = bool(whole) and _PLAIN_CHARS.issuperset(whole) and _plain_name(whole) and not node.has_error
        if plain:  # ``git push -f origin``: only plain words, one per whitespace-separated token
            argv += whole.split()
            literal += [True] * len(argv)
        for child in () if plain else node.named_children:
            kind_id = child.kind_id
            if kind_id == name_id:
                child = child.named_child(0) or child
                kind_id = child.kind_id
            if kind_id == word_id:  # the common case, kept fast: no quotes, no expansions
                start, end = child.start_byte, child.end_byte
                text = chars[start:end] if chars is not None else src[start:end].decode("utf-8", "surrogateescape")
                # else: words() sees it whole (and a word glued to the last one, ``"ap"\\ply``, joins it)
                if start != joined_at + 2 and start != joined_at and _PLAIN_SKIPS.isdisjoint(text):
                    node_from = len(argv)
                    argv.append(text)
                    literal.append(True)
                    joined_at = end
                    continue
                more = self.words(child)
                kind = "word"
            elif kind_id == raw_id and chars is not None and child.start_byte not in (joined_at, joined_at + 2):
                node_from = len(argv)
                argv.append(chars[child.start_byte + 1 : child.end_byte - 1])  # ``'text'``: the text, as it is
                literal.append(True)
                joined_at = child.end_byte
                continue
            elif (kind := child.type) == "variable_assignment":
                pair = self.assignment(child, store=False)
                if pair:
                    assigned[pair[0]] = pair[1]
                continue
            elif kind.endswith("redirect"):
                inner_redirects = [*inner_redirects, child]
                continue
            elif kind == "comment":
                continue
            else:
                more = self.words(child)
            if argv and more and joins(src, joined_at, child.start_byte):  # ``"ap"\\ply``: two nodes, one word
                more = glue(argv, literal, subs, node_from, more, glued_source(src, child))
            node_from = len(argv)
            for word in more:
                if word.subs:
                    subs[len(argv)] = word.subs
                argv.append(word.text)
                literal.append(word.literal and not (word.computed and len(argv) == 1))  # ``$(pwd)`` is no name
            joined_at = child.end_byte
        self.outfeed = saved_feed
        if not plain:  # ``-$"x"``, ``\\ 'g'``: text the grammar leaves out of every word: the words are unknown
            literal = lost_words(src, node, whole, argv, literal)
        cmd = Command.simple(argv, self.cwd, self.alts[:], self.via[:], literal)
        cmd.assigned = assigned
        if feed is not None:
            upstream = feed.name or (feed.argv[0] if feed.argv else "")
            if feed.stdin_names:
                cmd.stdin_names = dedupe([*feed.stdin_names, upstream])
            elif upstream:
                cmd.stdin_names = [upstream]
            cmd.stdin = shell_effects.output_text(feed)
            cmd.feed = feed
        if subs:
            if argv and not literal[0]:
                cmd.opaque = f"the command name is computed at run time ({argv[0]})"
                cmd.code_from = list(subs.get(0, []))
            for index, names in subs.items():
                if index:
                    cmd.code_from += [n for n in names if n not in cmd.code_from]
        elif argv and not literal[0]:
            cmd.opaque = f"the command name is computed at run time ({argv[0]})"
        if not plain and "\n" in (whole or self.text(node)) and _joins_lines(src, node):
            cmd.opaque = cmd.opaque or "the parse runs two lines together as one command (bash runs them apart)"
        if inner_redirects:
            self.apply_redirects(cmd, inner_redirects)
        start = len(self.out)
        self.out.append(cmd)
        if not argv:
            for name, value in assigned.items():
                self.vars[name] = value
            return self.out[start:]
        self.pending_context = None
        shell_code.in_words(self, cmd)
        shell_effects.analyse(cmd, self)
        switched = self.switched_context()  # set by ``kubectl config use-context X``, in analyse()
        if switched is not None:
            self.kube_context = switched or None
        if cmd.name in ("cd", "pushd", "popd"):
            shell_paths.change_dir(self, cmd)
        return self.out[start:]

    def switched_context(self) -> str | None:
        """The context the command just judged switched kubectl to ("": unknown; None: it did not)."""
        return self.pending_context

    def apply_redirects(self, cmd: Command, redirects: list[Any]) -> None:
        shell_redirects.apply(self, cmd, redirects)

    # -- words ----------------------------------------------------------


_MAX_LOOP = 16
"""A ``for`` loop over at most this many literal words is walked once per word."""
_STATEMENTS = {"pipeline", "list", "command", "redirected_statement", "subshell", "compound_statement"}
_PLAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:,@%+-= \t")
"""A command made of these only (no quotes, expansions, escapes, globs, braces, redirects, comments), with no
``=`` in its first word (an assignment), is plain words: its argv is its text split on blanks, as the
node-by-node walk would find it."""


def _joins_lines(src: bytes, node: Any) -> bool:
    """A line break between two words of one command (not ``\\<newline>``): tree-sitter-bash sometimes reads the
    next line into the command before it (after ``… | awk '{print $1}' | xargs echo``, a ``terraform apply <<'EOF'``
    line became arguments of that echo)."""
    pairs = itertools.pairwise(node.named_children)
    return any(b"\n" in src[a.end_byte : b.start_byte].replace(b"\\\n", b"") for a, b in pairs)


def _plain_name(text: str) -> bool:
    """No ``=`` before the first blank: the first word is a command name, not an assignment."""
    equals = text.find("=")
    return equals < 0 or " " in text[:equals] or "\t" in text[:equals]


_PLAIN_SKIPS = frozenset("\\{~")
"""A plain word holding one of these goes through :meth:`Walker.words` (escapes, braces, a tilde)."""
