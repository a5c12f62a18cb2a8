"""Brace expansion as bash does it (checked against bash itself here), and bounded on hostile text."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from agentctl.gate import braces, shell

WORDS = [
    "a{b,c}d",
    "{a,{b,c}}",
    "{x{a,b}}",
    "{a,b}}",
    "{a,{b}",
    "{a,b",
    "{{a,b},c}",
    "{a}{b,c}",
    "}{a,b}",
    "{a,b}{c,d}",
    "x{a,b{c,d}e}y",
    "{a,b}{",
    "{}",
    "{,a}",
    "x{,a}",
    '{"apply",}',
    "{'apply',x}",
    '{"",apply}',
    'a{"pply",}',
    '"{"a,b}',
    "{a\\,b,c}",
    "\\{a,b}",
    'x{a,"b c"}y',
    '{"a,b",c}',
    "{a,b}'{c,d}'",
]


def _words(text: str) -> list[str]:
    """The words of ``text`` as the shell parse gives them (the argv of ``printf`` after its format)."""
    return shell.parse(f"printf '[%s]' {text}", home="/home/u")[0].argv[2:]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize("text", WORDS)
def test_words_are_the_ones_bash_runs(text: str) -> None:
    # nothing but printf runs: each case is a literal word, no expansion or command substitution
    ran = subprocess.run(["bash", "-c", f"printf '[%s]' {text}"], capture_output=True, text=True, check=True)
    expected = ran.stdout[1:-1].split("][") if ran.stdout else []
    assert _words(text) == expected


def test_nesting_expands_once_per_word() -> None:
    # ``{a,{a,…b}}`` is depth+1 words: expanded inside out it used to double at every level (2**depth)
    assert braces.expand("{a," * 40 + "b" + "}" * 40) == ["a"] * 40 + ["b"]


@pytest.mark.parametrize(
    "text",
    ["{a,b}" * 11, "{a," * 100 + "b" + "}" * 100, "{" * 100_000 + "a,b", "{a," * 50_000],
    ids=["2048 words", "nested 100 deep", "100k open braces", "50k open groups"],
)
def test_hostile_text_is_bounded_and_unknown(text: str) -> None:
    expanded = braces.expand(text)
    assert expanded is None or expanded == [text]  # too many words, or no group at all: never a blow-up
    word = shell.parse(f"terraform {text}", home="/home/u")[0]
    assert not all(word.literal) or word.argv[1:] == [text]


def test_a_word_with_too_many_expansions_is_unknown_to_the_gate() -> None:
    cmd = shell.parse("kubectl " + "{a,b}" * 11 + "{delete,x} ns prod", home="/home/u")[0]
    assert cmd.literal[1] is False and "computed at run time" in cmd.opaque


def test_glob_groups_of_one_expand_and_too_many_mean_everything() -> None:
    assert braces.expand("*.{env}", lone=True) == ["*.env"]
    assert braces.expand("*.{env}") == ["*.{env}"]
    from agentctl.gate.scan import _braces

    assert _braces("{a,b}" * 12) == ["*"]
