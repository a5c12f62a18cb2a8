"""Where a command runs and what its path words name: ``cd``/``pushd``/``popd``, ``~user``, ``$PWD``, ``$(pwd)``.

The gate resolves every path a command touches against the directory it runs
in, so the walker (:mod:`agentctl.gate.shell`) tracks that directory through
the command list, and evaluates the words that name a directory without
running anything: ``~``, ``~root``, ``~+``, ``~-``, ``$HOME``, ``$PWD``,
``$OLDPWD``, ``$CODEX_HOME``, ``${HOME%/}``, and command substitutions whose
output is known from the parse (``$(pwd)``, ``$(echo ~)``, ``$(dirname
"$PWD")``, ``$(mktemp -d)``). What cannot be known is left non-literal (its
text keeps a ``$``), so a path built from it is *unresolvable*: the gate treats
such a path in a dangerous position as opaque.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker

UNKNOWN_CWD = "${PWD}"
"""The walker's cwd once it cannot be known (``cd "$X"``, ``popd`` of an empty stack)."""

_ENV_DIRS = {"CODEX_HOME": ".codex", "CLAUDE_CONFIG_DIR": ".claude", "XDG_CONFIG_HOME": ".config"}
"""Variables naming agent configuration: their value in the agent's environment, or the default under home."""


def unresolvable(path: str) -> bool:
    """Whether a path word (or a cwd) holds text only known at run time."""
    return "$" in path or "`" in path


def pwd(walker: Walker, cwd: str | None = None) -> str | None:
    """The absolute directory for a walker cwd ("" is the call's own), or None when unknown."""
    cwd = walker.cwd if cwd is None else cwd
    if unresolvable(cwd):
        return None
    if posixpath.isabs(cwd):
        return posixpath.normpath(cwd)
    if not walker.base:
        return None
    return posixpath.normpath(posixpath.join(walker.base, cwd)) if cwd else walker.base


def variable(walker: Walker, name: str) -> str | None:
    """The value of a variable that names a directory, when the gate knows it."""
    if name == "HOME":
        return walker.home
    if name == "PWD":
        return pwd(walker)
    if name == "OLDPWD":
        return walker.oldpwd
    if name in _ENV_DIRS:
        return os.environ.get(name) or posixpath.join(walker.home, _ENV_DIRS[name])
    if name == "TMPDIR":
        return os.environ.get(name, "")  # the agent's environment is the gate's (``${TMPDIR:-/tmp}``)
    return None


_PARAM = re.compile(r"^\$\{([A-Za-z_]\w*)(%%|%|##|#|:-|-|:=|=|:\+|\+)?(.*)\}$", re.DOTALL)


def ifs_split(walker: Walker, value: str) -> list[str]:
    """An unquoted expansion's fields: split on ``$IFS`` (``IFS=,; c=terraform,apply; $c`` runs two words)."""
    ifs = walker.vars.get("IFS")
    if ifs is None or ifs == " \t\n":
        return value.split()
    if not ifs:
        return [value]
    blanks = "".join(c for c in ifs if c in " \t\n")
    others = [c for c in ifs if c not in " \t\n"]
    around = f"[{re.escape(blanks)}]*" if blanks else ""
    pattern = f"{around}[{re.escape(''.join(others))}]{around}" if others else None
    parts = re.split(pattern, value.strip(blanks)) if pattern else [value]
    fields = [f for part in parts for f in (part.split() if blanks else [part])]
    return fields[:-1] if fields and fields[-1] == "" else fields


def attributes(walker: Walker, name: str, flags: str) -> None:
    """``declare -l x=TERRAFORM`` stores ``terraform``; a name reference (-n), integer (-i) or array value is
    not known text."""
    value = walker.vars.get(name)
    if value is None:
        return
    if set(flags) & set("niaA"):
        walker.vars.pop(name, None)
    elif "l" in flags or "u" in flags or "c" in flags:
        walker.vars[name] = value.lower() if "l" in flags else value.upper() if "u" in flags else value.capitalize()


def is_parameter(raw: str) -> bool:
    """``${…}`` without a command substitution inside."""
    return raw.startswith("${") and "$(" not in raw[2:] and "`" not in raw


_INDIRECT = re.compile(r"^\$\{!([A-Za-z_]\w*)\}$")
_CASE = re.compile(r"^\$\{([A-Za-z_]\w*)(\^\^|\^|,,|,|~~|~)\}$")


def _value(walker: Walker, name: str) -> str | None:
    value = walker.vars.get(name)
    return value if value is not None else variable(walker, name)


def _case(value: str, op: str) -> str:
    """``${x^^}``, ``${x,,}``, ``${x^}``, ``${x,}``, ``${x~~}``, ``${x~}``: bash's case conversions."""
    if op in ("^^", ",,", "~~"):
        return value.upper() if op == "^^" else value.lower() if op == ",," else value.swapcase()
    head = value[:1].upper() if op == "^" else value[:1].lower() if op == "," else value[:1].swapcase()
    return head + value[1:]


def parameter(walker: Walker, raw: str) -> str | None:
    """``${NAME%pattern}`` and friends over a known value (None when the result is not known)."""
    indirect = _INDIRECT.match(raw)  # ``${!v}``: the variable whose name is v's value
    if indirect:
        target = _value(walker, indirect.group(1))
        return _value(walker, target) if target and re.fullmatch(r"[A-Za-z_]\w*", target) else None
    case = _CASE.match(raw)
    if case:
        value = _value(walker, case.group(1))
        return None if value is None else _case(value, case.group(2))
    match = _PARAM.match(raw)
    if match is None:
        return None
    name, op, arg = match.group(1), match.group(2) or "", match.group(3)
    if not op and arg:
        return None
    value = walker.vars.get(name)
    value = value if value is not None else variable(walker, name)
    arg = _expand_known(walker, arg.strip("'\""))
    if arg is None:
        return None
    if value is None:
        return None  # a variable the gate does not know may be set to anything
    if op in (":-", "-", ":=", "="):
        return value if value or op in ("-", "=") else arg
    if op in (":+", "+"):
        return arg if value or op == "+" else ""
    if not op:
        return value
    sizes = range(len(value) + 1)
    if op in ("%", "%%"):
        cuts = [i for i in sizes if fnmatch.fnmatchcase(value[i:], arg)]
        return value[: (cuts[-1] if op == "%" else cuts[0])] if cuts else value
    cuts = [i for i in sizes if fnmatch.fnmatchcase(value[:i], arg)]
    return value[(cuts[0] if op == "#" else cuts[-1]) :] if cuts else value


def _expand_known(walker: Walker, text: str) -> str | None:
    """``$NAME``/``${NAME}`` and a leading ``~`` in an expansion's word, when every one is known."""
    unknown = False

    def one(match: re.Match[str]) -> str:
        nonlocal unknown
        name = match.group(1) or match.group(2)
        value = walker.vars.get(name)
        value = value if value is not None else variable(walker, name)
        if value is None:
            unknown = True
            return match.group(0)
        return value

    out = re.sub(r"\$\{([A-Za-z_]\w*)\}|\$([A-Za-z_]\w*)", one, text)
    if out.startswith("~"):
        out, known = tilde(walker, out)
        unknown |= not known
    return None if unknown or unresolvable(out) else out


_TILDE_PREFIX = re.compile(r"~([^/:]*)([/:]?)")
"""A tilde prefix: to the first ``/``, or ``:`` (``~:x`` is ``$HOME:x`` to bash)."""


def tilde(walker: Walker, text: str) -> tuple[str, bool]:
    """Tilde expansion at the start of an unquoted word: (text, whether it is known)."""
    if not text.startswith("~"):
        return text, True
    prefix = _TILDE_PREFIX.match(text)
    assert prefix is not None
    user, sep, tail = prefix.group(1), prefix.group(2), text[prefix.end() :]
    if user == "":
        value: str | None = walker.home
    elif user == "+":
        value = pwd(walker)
    elif user == "-":
        value = walker.oldpwd
    elif user in ("0", "+0"):  # ``~0``: the top of the directory stack, the working directory
        value = pwd(walker)
    elif re.fullmatch(r"[+-]?[0-9]+", user):  # ``~1``, ``~-2``: an entry of the directory stack (``dirs +1``)
        return "${DIRSTACK}" + sep + tail, False
    elif re.fullmatch(r"[A-Za-z_][\w.-]*\$?", user):
        value = _user_home(user)
        if value is None:
            return text, True  # no such user: bash leaves the word as it is
    else:
        return text, True  # not a tilde prefix (``~x!y``): the word is literal text
    if value is None:
        return "${" + (
            "OLDPWD" if user == "-" else "PWD" if user == "+" else f"HOME_OF_{user}"
        ) + "}" + sep + tail, False
    return value.rstrip("/") + sep + tail if tail or sep else value, True


def _user_home(user: str) -> str | None:
    try:
        import pwd as pwdlib

        return pwdlib.getpwnam(user).pw_dir
    except (KeyError, ImportError):
        return None


def substitution(added: list[Command], walker: Walker) -> str | None:
    """The output of ``$(…)`` when it is known from the parse (trailing newlines removed), else None."""
    from agentctl.gate import shell_effects

    if len(added) != 1:
        return None
    cmd = added[0]
    if cmd.opaque or not cmd.argv or not all(cmd.literal) or cmd.writes:
        return None
    name, args = cmd.name, cmd.argv[1:]
    here = pwd(walker, cmd.cwd)
    if name in ("echo", "printf", "cat"):
        text = shell_effects.output_text(cmd)
        return text.rstrip("\n") if text is not None else None
    if name == "pwd":
        return here
    operands = [a for a in args if not a.startswith("-")]
    if name == "dirname" and len(operands) == 1:
        return posixpath.dirname(operands[0].rstrip("/")) or "."
    if name == "basename" and operands:
        return posixpath.basename(operands[0].rstrip("/"))
    if name in ("realpath", "readlink") and len(operands) == 1 and (name == "realpath" or "-f" in args):
        if here is None and not posixpath.isabs(operands[0]):
            return None
        return posixpath.normpath(posixpath.join(here or "/", operands[0]))
    if name == "mktemp":
        return _mktemp(args, here)
    if name == "git" and args == ["rev-parse", "--show-toplevel"] and here is not None:
        return _toplevel(here)
    if name == "find" and any(a in ("-name", "-iname") for a in args):
        from agentctl.gate.shell_writers import find_output

        return find_output(args)[0]  # ``$(find . -name .env)``: the match, as a glob
    return None


def _toplevel(here: str) -> str | None:
    """The work tree holding ``here`` (``$(git rev-parse --show-toplevel)``), found as git finds it."""
    import os

    folder = here
    while True:
        if os.path.exists(posixpath.join(folder, ".git")):
            return folder
        parent = posixpath.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _mktemp(args: list[str], here: str | None) -> str | None:
    base: str | None = "/tmp"
    template = "tmp.XXXXXXXXXX"
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-p", "--tmpdir") and i + 1 < len(args):
            base, i = args[i + 1], i + 1
        elif arg.startswith("--tmpdir="):
            base = arg.split("=", 1)[1]
        elif not arg.startswith("-"):
            template = arg
            if "/" in template and not any(a.startswith(("-p", "--tmpdir")) for a in args):
                base = here
        i += 1
    if base is None:
        return None
    return posixpath.normpath(posixpath.join(here or "/", base, template))


def change_dir(walker: Walker, cmd: Command) -> None:
    """Follow ``cd``/``pushd``/``popd`` in the walker (the directory the next commands run in)."""
    args = cmd.argv[1:]
    literal = cmd.literal[1:]
    operands = [(a, lit) for a, lit in zip(args, literal, strict=False) if not (a.startswith("-") and a != "-")]
    before = walker.cwd
    if cmd.name == "popd":
        if any(a.startswith(("+", "-")) for a, _ in operands):
            target = UNKNOWN_CWD
        else:
            target = walker.dirs.pop() if walker.dirs else UNKNOWN_CWD
    else:
        word, known = operands[0] if operands else (walker.home, True)
        if cmd.name == "pushd" and not operands:
            target = walker.dirs.pop() if walker.dirs else UNKNOWN_CWD
        elif not known or unresolvable(word) or (cmd.name == "pushd" and word[:1] in "+-"):
            target = UNKNOWN_CWD
        elif word == "-":
            target = walker.oldpwd if walker.oldpwd is not None else UNKNOWN_CWD
        else:
            target = word if posixpath.isabs(word) else posixpath.normpath(posixpath.join(before or ".", word))
            target = UNKNOWN_CWD if unresolvable(before) and not posixpath.isabs(word) else target
        if cmd.name == "pushd":
            walker.dirs.append(before)
    alts: list[str] = []
    if cmd.name == "cd" and operands and not unresolvable(target) and target != UNKNOWN_CWD:
        word = operands[0][0]
        alts = [a if posixpath.isabs(word) else posixpath.normpath(posixpath.join(a or ".", word)) for a in walker.alts]
        if _may_fail(walker, target):
            alts.append(before)  # ``cd missing; rm -rf *`` runs where it was when the cd fails
    walker.alts = [a for i, a in enumerate(alts) if a != target and a not in alts[:i]][:4]
    walker.oldpwd = pwd(walker, before)
    walker.cwd = target


def _may_fail(walker: Walker, target: str) -> bool:
    """A ``cd`` to a directory that does not exist and that no earlier command in the line may create."""
    if not walker.base or not os.path.isdir(walker.base):
        return False  # nothing on disk to judge by (a policy's own examples)
    absolute = pwd(walker, target)
    if absolute is None or os.path.isdir(absolute):
        return False
    for other in walker.out:
        if other.opaque or other.trees or (other.name == "git" and {"clone", "worktree", "init"} & {*other.argv}):
            return False  # it may create the directory
        for written in other.writes:
            made = pwd(walker, written if posixpath.isabs(written) else posixpath.join(other.cwd or ".", written))
            if made is not None and (made == absolute or made.startswith(absolute + "/")):
                return False
    return True


def enter(cmd: Command, directory: str, literal: bool = True) -> None:
    """A command that runs in ``directory`` (``env -C``, ``git -C``, ``make -C``) relative to its own cwd."""
    if not posixpath.isabs(directory):
        cmd.alt_cwds = [posixpath.normpath(posixpath.join(a or ".", directory)) for a in cmd.alt_cwds]
    else:
        cmd.alt_cwds = []
    if not literal or unresolvable(directory) or unresolvable(cmd.cwd):
        cmd.cwd = UNKNOWN_CWD
    elif posixpath.isabs(directory):
        cmd.cwd = posixpath.normpath(directory)
    else:
        cmd.cwd = posixpath.normpath(posixpath.join(cmd.cwd or ".", directory))
