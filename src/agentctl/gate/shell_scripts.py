"""What a command runs as code: shell scripts, ``bash -c`` text, programs and interpreters' code.

Called by :mod:`agentctl.gate.shell_effects` (and the runners) for a command that runs code:
text given to a shell (``bash -c``, ``eval``, a heredoc or a pipe) is parsed recursively, a script
file is read and parsed (once per directory the command may run in), a script written by the same
command or read from a place only known at run time makes the command opaque; inline interpreter
code (``perl -e``, ``node -e``) is judged by :mod:`agentctl.gate.inline`, Python by
:mod:`agentctl.gate.shell_python`.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from agentctl.gate import inline, shell_paths, shell_sources
from agentctl.gate.shell_words import dedupe

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker


def nested(cmd: Command, text: str, literal: bool, walker: Walker, label: str) -> None:
    if not literal:
        cmd.opaque = cmd.opaque or f"{label} runs text computed at run time"
        return
    saved = (walker.cwd, walker.alts)
    walker.cwd, walker.alts = cmd.cwd, list(cmd.alt_cwds)
    walker.run(text, [*cmd.via, label], walker.depth + 1)
    walker.cwd, walker.alts = saved


STDIN_PATHS = ("-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0")


def script(cmd: Command, path: str, literal: bool, walker: Walker) -> None:
    """A shell runs a script file: parse it when it can be read, else say why not."""
    if not literal:
        cmd.code_from = cmd.code_from or ["(computed path)"]
        cmd.opaque = cmd.opaque or "runs code from a path or stream computed at run time"
        return
    if path in STDIN_PATHS:  # ``bash /dev/stdin``, ``source /dev/stdin``: the pipe is the script
        stdin_code(cmd, walker, lambda text: nested(cmd, text, True, walker, f"{cmd.name} <stdin>"))
        return
    if shell_sources.GLOB.search(path):  # ``bash scripts/d*.sh``: the shell runs what the glob matches
        for match in shell_sources.expand(cmd, path, walker):
            script(cmd, match, True, walker)
        return
    if _written_here(cmd, f"the script {path}", path, walker):
        return
    for text in read_code(cmd, path, walker):
        nested(cmd, text, True, walker, f"{cmd.name} {path}")


def places(cmd: Command, path: str) -> list[str]:
    """Where a relative ``path`` may be for ``cmd``: in its directory, and in each other one it may run in."""
    if path.startswith("/"):
        return [path]
    return dedupe([posixpath.join(where, path) if where else path for where in [cmd.cwd, *cmd.alt_cwds]]) or [path]


def read_code(cmd: Command, path: str, walker: Walker) -> list[str]:
    """The code in the file ``path`` (once per place it may be); ``cmd`` is opaque when a place cannot be judged."""
    if walker.read_file is None:
        return []
    texts: list[str] = []
    for place in places(cmd, path):
        if shell_paths.unresolvable(place):  # ``cd "$X" && bash deploy.sh``: which file runs is unknown
            cmd.opaque = cmd.opaque or f"runs {path} from a directory only known at run time"
            return []
        text = walker.read_file(place)
        if text is not None:
            texts.append(text)
        elif unreadable(walker, place):
            cmd.opaque = cmd.opaque or f"runs {path}, which agentctl cannot read"
            return []
    return texts


def unreadable(walker: Walker, path: str) -> bool:
    """``path`` exists but the parse cannot read it (too large, unreadable, a directory)."""
    check = getattr(walker.read_file, "unreadable", None)
    return bool(check and check(path))


_DOWNLOADERS = {"git": "git clone", "svn": "svn checkout", "hg": "hg clone"}


def written_by(cmd: Command, path: str, walker: Walker) -> list[str]:
    """Commands earlier in the same text that write ``path`` (or a directory holding it)."""
    target = posixpath.normpath(posixpath.join(cmd.cwd, path) if cmd.cwd and not path.startswith("/") else path)
    found: list[str] = []
    for other in walker.out:
        if other is cmd or other.name in ("chmod", "touch", "mkdir", "chown"):
            continue
        for write in other.writes:
            written = posixpath.join(other.cwd, write) if other.cwd and not write.startswith("/") else write
            written = posixpath.normpath(written)
            if target == written or target.startswith(written.rstrip("/") + "/"):
                found.append(_DOWNLOADERS.get(other.name, other.name) if target != written else other.name)
                break
    return found


def _written_here(cmd: Command, what: str, path: str, walker: Walker) -> bool:
    """Whether an earlier command of the same text writes ``path``: then what ``cmd`` runs is not known yet (it is
    opaque, and runs code from those writers)."""
    writers = written_by(cmd, path, walker)
    if writers:
        cmd.code_from += [w for w in writers if w not in cmd.code_from]
        cmd.opaque = cmd.opaque or f"runs {what}, written by the same command"
    return bool(writers)


def program(cmd: Command, path: str, walker: Walker) -> None:
    """``./x``: a program written by the same command is opaque; a shell script is read and parsed."""
    if shell_sources.GLOB.search(path):  # ``./scripts/d*.sh``: the shell runs the first match, but judge each
        for match in shell_sources.expand(cmd, path, walker):
            program(cmd, match if "/" in match else f"./{match}", walker)
        return
    if _written_here(cmd, path, path, walker):
        return
    for place in places(cmd, path):  # a program (not a script) in a directory only known at run time is let be
        text = None if shell_paths.unresolvable(place) or not walker.read_file else walker.read_file(place)
        first = text.split("\n", 1)[0] if text else ""
        if text is not None and (re.match(r"#!.*\bpython", first) or (path.endswith(".py") and "uv" in cmd.via)):
            from agentctl.gate import shell_python  # ``./x.py``, ``uv run x.py``: Python runs the file

            shell_python.script(cmd, path, walker)
            return
        if text is not None and (path.endswith(".sh") or re.match(r"#!.*\b(ba|z|da|k|mk)?sh\b", first)):
            nested(cmd, text, True, walker, path)


def shell(cmd: Command, args: list[str], walker: Walker) -> None:
    c_mode, s_mode, i = False, False, 0
    literal = cmd.literal[1:]
    while i < len(args):
        arg = args[i]
        if arg == "--":
            i += 1
            break
        if arg in ("--rcfile", "--init-file") and i + 1 < len(args):  # the shell sources FILE first
            cmd.reads.append(args[i + 1])
            script(cmd, args[i + 1], literal[i + 1], walker)
        if arg in ("-o", "+o", "--rcfile", "--init-file", "-O", "+O"):
            i += 2
            continue
        if arg[:1] in "-+" and len(arg) > 1:
            c_mode |= arg.startswith("-") and not arg.startswith("--") and "c" in arg[1:]
            s_mode |= arg.startswith("-") and not arg.startswith("--") and "s" in arg[1:]
            i += 1
            continue
        break
    if i < len(args) and (c_mode or not s_mode):
        if c_mode:
            nested(cmd, args[i], literal[i], walker, f"{cmd.name} -c")
        else:
            cmd.reads.append(args[i])
            script(cmd, args[i], literal[i], walker)
        return
    if cmd.reads and cmd.stdin is None:  # ``bash < script.sh``
        script(cmd, cmd.reads[0], True, walker)
        return
    stdin_code(cmd, walker, lambda text: nested(cmd, text, True, walker, f"{cmd.name} <stdin>"))


def stdin_code(cmd: Command, walker: Walker, judge: object) -> None:
    if cmd.stdin is not None:
        judge(cmd.stdin)  # type: ignore[operator]
    elif cmd.stdin_names:
        cmd.code_from += [n for n in cmd.stdin_names if n not in cmd.code_from]
        cmd.opaque = cmd.opaque or f"runs code read from a pipe ({' | '.join(cmd.stdin_names)})"


def interpreter(cmd: Command, name: str, args: list[str], walker: Walker) -> None:
    if inline.family(name) == "python":
        from agentctl.gate import shell_python

        shell_python.judge(cmd, name, args, walker)
        return
    code, path, rest = inline.split_args(name, args)
    literal = dict(zip(cmd.argv[1:], cmd.literal[1:], strict=False))
    if code is not None:
        if not all(literal.get(part, True) for part in code):
            cmd.opaque = cmd.opaque or f"{name} runs inline code computed at run time"
            return
        judge_code(cmd, name, "\n".join(code))
    elif path is not None and path not in STDIN_PATHS:
        cmd.reads.append(path)
        cmd.reads += [a for a in rest if not a.startswith("-") and a != path]  # a script's file arguments
        if not literal.get(path, True) or written_by(cmd, path, walker):
            script(cmd, path, literal.get(path, True), walker)
    else:
        stdin_code(cmd, walker, lambda text: judge_code(cmd, name, text))
    if name.startswith("perl") or name.startswith("ruby"):
        flags = [a for a in args if a.startswith("-") and not a.startswith("--")]
        if any("i" in f[1:] and not f.startswith(("-e", "-E")) for f in flags):
            cmd.writes += [a for a in rest if not a.startswith("-")]
    cmd.reads += [a for a in rest if not a.startswith("-") and name.startswith(("perl", "ruby"))]


def judge_code(cmd: Command, name: str, code: str) -> None:
    """Inline interpreter code: the files it shows it reads and writes; opaque when it may run commands."""
    verdict = inline.judge(name, code)
    cmd.reads += verdict.reads
    cmd.writes += verdict.writes
    if verdict.opaque:
        cmd.opaque = cmd.opaque or verdict.opaque
