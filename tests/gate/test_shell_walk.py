"""The shell walk's shortcuts for plain text find exactly what the node-by-node walk finds.

A command made only of plain words (``git push -f origin main``) takes its argv
from its text split on blanks instead of visiting each word node; one of plain
words and quotes (``find . -name '*.pyc'``, ``echo "in $dir"``) reads its words
from the text too (:mod:`agentctl.gate.shell_plain`), and so does a redirect to
a plain word (``2>&1``, ``> notes.md``). For every shell text of ``cases.yaml``
and ``attack_cases.yaml``, the benchmark script, and words at the edges of the
shortcuts (numbers, ``-1``, ``1.5``, ``a=b`` after the name, ``%``/``@``/``,``/``:``,
quotes next to words, ``$name`` after blanks, ``=='x'``), the parse with the
shortcuts and the parse with them switched off must give the same commands,
field for field. Nothing is executed: the gate only parses the text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentctl.gate import shell, shell_plain, shell_redirects

HERE = Path(__file__).parent
INTERNALS = pytest.mark.skipif(
    shell.COMPILED,
    reason="switches the walk's shortcuts off by patching its modules: the "
    "compiled walk calls them directly (tests/integrations/test_compiled_gate.py)",
)
EDGES = [
    "exit 1",
    "kill -9 -1",
    "sleep 1.5",
    "env A=b c=d printf %s@x a,b x:y +z",
    "A=1 make build",
    "a=b",
    "a=b c",
    "a\t=b",
    "x y=z",
    "x=y=z w",
    "git push -f origin main",
    "ls\t-la   src/",
    "echo a\\\nb",
    "terraform ap\\\nply -auto-approve",
    "printf -v a[1] x",
    "rm -rf ~ a~b",
    "cp {a,b} c",
    "echo a#b # comment",
    "[ -f x ] && test -d y",
    "time make",
    "! grep -q x y",
    "echo ü ö",
    "cd /tmp; rm -rf build",
    "fi foo bar",
    "echo a b )",
    "done x y; then z",
    "find . -name '*.pyc' -delete",
    "python3 -c 'import json,sys; print(json.dumps({\"ok\": True}))' > /tmp/status.json",
    'd=envs/dev; terraform -chdir="$d" plan -out "$d/tf.plan" | tee -a plan.log',
    'echo "building in $PWD" "$HOME/x" "$UNSET/y" "[$IFS]" "$TMPDIR" "$OLDPWD"',
    'a=1; b=2; echo "$a $b"; echo " $a"; echo "$a$b"; echo "x $a"; echo "$a\t$b" "$a  x $b"; echo "$a_b" "$a-b"',
    'a=1; echo "$a[0]" "$a{x}" "$a}" "$0" "$1x" "$@" "a$"; echo "$a"\'$a\'$a "${a}"',
    'a=1; echo "\\ $a"; echo "\\\t$a"; echo "x\\ $a"; echo "$a \\$a"; echo "\\\\$a" "\\$a" "\\a$a" "\\"$a\\""',
    'V=1; sed -i "s/^version = .*/version = \\"$V\\"/" pyproject.toml; git commit -m "fix \\"x\\" \\`y\\`"',
    "echo =='x'; echo a=='y' 'q'== x='1' -=\"2\"",
    "echo '' \"\" a''b \"a\"'b'c 'it\"s' \"it's\"",
    "x='a b'; echo \"$x\" $x '$x'",
    '"terraform" apply; \'rm\' -rf /; "$CMD" x',
    "cmd >f 2>&1 >/dev/null >>log <in <>rw >| x &>o &>>o2 >&2 3<&0 >&- 2>&- > a b",
    "cat >~/x >'q r' >\"$a\" >$a >a\\b >{a,b} 2>-",
]


def _grammar_edges() -> list[str]:
    """Redirects with every operator the grammar lexes (``>&-x`` is ``>&-`` then ``x``), and quotes next to every
    short token it lexes from plain characters (``=='x'`` leaves ``==`` out of the word): the shortcuts must read
    these as the grammar does."""
    import tree_sitter
    import tree_sitter_bash

    language = tree_sitter.Language(tree_sitter_bash.language())
    names = {language.node_kind_for_id(i) or "" for i in range(language.node_kind_count)}
    anonymous = {n for n in names if n and not n.startswith("_") and len(n) <= 3}
    operators = sorted(n for n in anonymous if set(n) <= set("<>&|-=") and ("<" in n or ">" in n))
    targets = ["f", "-", "--", "-x", "=b", "1", "-1", "/dev/null", "a,b", "&1"]
    edges = [f"cat {fd}{op}{blank}{t}" for fd in ("", "2") for op in operators for blank in ("", " ") for t in targets]
    plain = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:,@%+=-")
    tokens = sorted(n for n in anonymous if set(n) <= plain)
    for token in tokens:
        for quoted in ("'q'", '"q r"', '"$a"', "''"):
            edges += [f"a=1; echo {token}{quoted} {quoted}{token} x{token}{quoted}{token}", f"{token}{quoted} z"]
    return edges


def _texts() -> list[str]:
    texts = list(EDGES) + _grammar_edges()
    for name in ("cases.yaml", "attack_cases.yaml"):
        for case in yaml.safe_load((HERE / name).read_text()) or []:
            if "sh" in case:
                texts.append(str(case["sh"]))
    from bench.shell_bench import script

    texts.append(script())
    return texts


def _parse_all(texts: list[str]) -> list[str]:
    out = []
    for text in texts:
        commands: list[Any] = shell.parse(text, home="/home/u", base="/repo", read_file=lambda _path: None)
        out.append(repr(commands))
    return out


@INTERNALS
def test_the_plain_command_shortcut_finds_what_the_full_walk_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _texts()
    assert len(texts) > 1000
    fast = _parse_all(texts)
    plain = [t for t in texts if any(line and shell._PLAIN_CHARS.issuperset(line) for line in t.splitlines())]
    assert len(plain) > 100  # the shortcut is really taken, so the comparison below means something
    monkeypatch.setattr(shell, "_PLAIN_CHARS", frozenset())  # never plain: every word node visited
    monkeypatch.setattr(shell_plain, "words", lambda *_: None)
    monkeypatch.setattr(shell_redirects, "_PLAIN", re.compile("(?!)"))  # never matches
    slow = _parse_all(texts)
    for text, one, other in zip(texts, fast, slow, strict=True):
        assert one == other, text


@INTERNALS
def test_the_quote_and_redirect_shortcuts_are_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = {"words": 0, "redirect": 0}
    words, plain = shell_plain.words, shell_redirects._PLAIN

    def counted_words(*args: Any) -> Any:
        found = words(*args)
        taken["words"] += found is not None
        return found

    class Counted:
        def fullmatch(self, *args: Any) -> Any:
            found = plain.fullmatch(*args)
            taken["redirect"] += found is not None
            return found

    monkeypatch.setattr(shell_plain, "words", counted_words)
    monkeypatch.setattr(shell_redirects, "_PLAIN", Counted())
    _parse_all(_texts())
    assert taken["words"] > 100 and taken["redirect"] > 100  # so the comparison above means something


def test_command_simple_fills_every_field_as_the_constructor_does() -> None:
    from dataclasses import fields

    from agentctl.gate.shell_command import Command

    argv, alts, via, literal = ["ls", "-l"], ["/a"], ["sudo"], [True, True]
    quick = Command.simple(argv, "src", alts, via, literal)
    normal = Command(argv, cwd="src", alt_cwds=alts, via=via, literal=literal)
    for field in fields(Command):  # a field added to Command must be added to Command.simple too
        assert getattr(quick, field.name) == getattr(normal, field.name), field.name
    assert quick.reads is not Command.simple(argv, "", [], [], []).reads  # fresh lists, never shared


QUOTED = [  # a double-quoted word is built in one pass: text, escapes and ``$name`` as the per-piece walk had them
    ('echo "plain text" "a \\"q\\" \\$x \\\\ b"', [(["echo", "plain text", 'a "q" $x \\ b'], [True, True, True])]),
    (
        'd=envs/dev; echo "$d/tf.plan" "$HOME/x" "$UNSET/y" "[$IFS]" "$PWD"',
        [
            (
                ["echo", "envs/dev/tf.plan", "/home/u/x", "$UNSET/y", "[ ]", "/repo"],
                [True, True, True, False, True, True],
            )
        ],
    ),
    (
        'echo -C="$d"x\'$d\' "a$(pwd)b" "$(id)"',
        [(["pwd"], [True]), (["id"], [True]), (["echo", "-C=$dx$d", "a/repob", "$(id)"], [True, False, True, False])],
    ),
    # the grammar puts the blank or escaped newline before a ``$`` inside the expansion node: not expanded, not literal
    ('echo "\\\n$HOME$IFS" $"$dirx $u/a"', [(["echo", "\\\n$HOME ", "$dirx $u/a"], [True, False, False])]),
    ('echo "" "$1" "$@" "tab\t$HOME"', [(["echo", "", "$1", "$@", "tab\t/home/u"], [True, True, False, False, True])]),
]


@pytest.mark.parametrize(("text", "expected"), QUOTED)
def test_a_double_quoted_word_is_its_text_with_known_variables_expanded(text: str, expected: list[Any]) -> None:
    commands = shell.parse(text, home="/home/u", base="/repo")
    assert [(c.argv, c.literal) for c in commands] == expected


def test_the_walk_leaves_garbage_collection_as_it_found_it() -> None:
    import gc

    assert gc.isenabled()
    shell.parse("echo a | sh", home="/home/u")
    assert gc.isenabled()  # switched off for the walk only: a gate server keeps collecting
    gc.disable()
    try:
        shell.parse("echo a | sh", home="/home/u")
        assert not gc.isenabled()  # a caller that switched it off keeps it off
    finally:
        gc.enable()
    with pytest.raises((AttributeError, TypeError)):  # TypeError from the compiled walk
        shell.parse(None, home="/home/u")  # type: ignore[arg-type]
    assert gc.isenabled()  # back on after a walk that failed


def test_a_next_line_the_grammar_reads_into_a_command_makes_it_opaque() -> None:
    # tree-sitter-bash reads ``terraform apply …`` (a heredoc follows it) into the xargs command before it: the walk
    # saw ``echo terraform apply -auto-approve``, which bash never runs; the apply must not pass as an echo
    text = "git ls-files | awk '{print $1}' | xargs -r echo\nterraform apply -auto-approve <<'EOF'\n(yes)\nEOF\n"
    merged = shell.parse(text, home="/home/u")[-1]
    assert merged.argv[:4] == ["echo", "terraform", "apply", "-auto-approve"]
    assert "two lines" in merged.opaque
    for fine in ("terraform plan \\\n  -out tf.plan && ls \\\n\\\n -la", "echo 'a\nb' \"c\nd\" $(ls\n)"):
        assert not any(c.opaque for c in shell.parse(fine, home="/home/u")), fine  # continued lines, quoted breaks


DEPTH = 5000
NESTED = {
    "command substitutions": "echo " + "$(echo " * DEPTH + ")" * DEPTH,
    "quoted substitutions": "echo " + '"$(echo ' * DEPTH + ')"' * DEPTH,
    "parameter defaults": "echo " + "${a:-" * DEPTH + "x" + "}" * DEPTH,
    "subshells": "( " * DEPTH + "ls" + " )" * DEPTH,
    "groups": "{ " * DEPTH + "ls; " + "}; " * DEPTH,
    "an && chain": " && ".join(["ls"] * DEPTH),
    "arithmetic": "echo $((" + "(" * DEPTH + "1" + ")" * DEPTH + "))",
    "ifs": "if true; then " * DEPTH + "ls; " + "fi; " * DEPTH,
    "process substitutions": "cat " + "<(cat " * DEPTH + ")" * DEPTH,
    "test expressions": "[[ " + "( " * DEPTH + "-f x" + " )" * DEPTH + " ]]",
    "functions": "f() { " * DEPTH + "ls; " + "}; " * DEPTH,
}


@pytest.mark.parametrize("text", NESTED.values(), ids=NESTED.keys())
def test_text_nested_past_the_limit_stops_the_walk_with_a_recursion_error(text: str) -> None:
    # The gate turns the RecursionError into an opaque command (denied). The walk stops at its own limit, not at
    # Python's: a compiled walk (mypyc) has no recursion limit and would overflow the C stack instead.
    with pytest.raises(RecursionError, match="too deep to judge"):
        shell.parse(text, home="/home/u")


def test_text_nested_within_the_limit_is_walked() -> None:
    text = "echo " + "$(echo " * 40 + "x" + ")" * 40
    assert len(shell.parse(text, home="/home/u")) == 41
    text = "( " * 40 + "terraform apply" + " )" * 40
    assert shell.parse(text, home="/home/u")[-1].argv == ["terraform", "apply"]


def test_long_flat_scripts_are_not_nesting() -> None:
    text = "\n".join(["ls"] * 5000) + "\n" + " | ".join(["cat"] * 2000)
    assert len(shell.parse(text, home="/home/u")) == 7000
