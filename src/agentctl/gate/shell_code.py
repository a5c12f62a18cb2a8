"""Text bash evaluates as code later, though it is written as data.

The parser sees ``'a[$(x)]'`` as a plain string, but bash runs the substitution
when the string names an array element for ``printf -v``, ``read``,
``test -v``, ``declare``, ``unset`` or an arithmetic context; a prompt string
(``PS4``, ``PS1``…) and ``${x@P}`` are expanded like double-quoted text; an
exported ``BASH_FUNC_name%%`` value is a function definition every bash child
runs. Such text is judged as the commands it would run (strictest wins); when
it is not known literally, the command is opaque.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker

_SUBSCRIPT = re.compile(r"\[[^\]]*(\$\(|`)")
"""An array subscript holding a command substitution: run when the name is evaluated."""
_CODE = re.compile(r"\$\(|`|\$\{[^}]*@P\}")
_PROMPTS = {"PS0", "PS1", "PS2", "PS3", "PS4"}
_FUNC = re.compile(r"^BASH_FUNC_[^=]*=\s*\(\)\s*(.*)$", re.S)


def judge(walker: Walker, text: str, label: str) -> None:
    """Parse ``text`` as the commands it runs, one level deeper."""
    saved = walker.cwd
    walker.run(text, [*walker.via, label], walker.depth + 1)
    walker.cwd = saved


def in_words(walker: Walker, cmd: Command) -> None:
    """Literal arguments that bash evaluates: ``printf -v 'a[$(x)]'``, ``env 'BASH_FUNC_f%%=() { x; }'``."""
    joined = "\x00".join(cmd.argv[1:])  # neither pattern can match without these: judged once per command
    if "[" in joined or "BASH_FUNC_" in joined:
        _in_arguments(walker, cmd)
    if cmd.assigned:
        for name, value in cmd.assigned.items():
            assigned(walker, name, value)


def _in_arguments(walker: Walker, cmd: Command) -> None:
    for word, literal in zip(cmd.argv[1:], cmd.literal[1:], strict=False):
        if not literal or ("[" not in word and not word.startswith("BASH_FUNC_")):
            continue  # neither pattern can match (the common case, without a regex call)
        function = _FUNC.match(word)
        if function:
            judge(walker, function.group(1), "exported function")
        elif _SUBSCRIPT.search(word):
            judge(walker, ": " + word, "array subscript")


def assigned(walker: Walker, name: str, value: str) -> None:
    """``PS4='$(x)'``, ``x='a[$(x)]'`` (evaluated in arithmetic), ``BASH_FUNC_f%%='() { x; }'``."""
    if name.startswith("BASH_FUNC_"):
        judge(walker, re.sub(r"^\s*\(\)\s*", "", value), "exported function")
    elif (name in _PROMPTS and _CODE.search(value)) or _SUBSCRIPT.search(value):
        judge(walker, ": " + value, "prompt string" if name in _PROMPTS else "array subscript")


def in_expansion(walker: Walker, raw: str, pattern: str | None, name: str) -> None:
    """``${x%$(y)}`` (a pattern the grammar leaves as text) and ``${x@P}`` (the value expanded as a prompt)."""
    if pattern and _CODE.search(pattern):
        judge(walker, ": " + pattern, "expansion pattern")
    if raw.endswith("@P}"):
        value = walker.vars.get(name)
        if value is None:
            from agentctl.gate.shell import Command

            why = f"{raw} expands a value computed at run time as a prompt (it may run commands)"
            walker.out.append(Command(argv=[], opaque=why, via=list(walker.via), cwd=walker.cwd))
        elif _CODE.search(value):
            judge(walker, ": " + value, "prompt expansion")
