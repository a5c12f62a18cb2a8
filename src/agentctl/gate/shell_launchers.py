"""Launchers: programs whose job is to run the command they are given (``uv run``, ``npm exec``, ``op run``…).

:func:`locate` is called by :func:`agentctl.gate.shell_wrappers.unwrap`: it says
where the launched command starts in an argv (``poetry run pytest`` is judged
as ``pytest``), or rewrites the argv into ``sh -c TEXT`` when the launcher runs
shell text (``nix-shell --run TEXT``, ``sops exec-env FILE TEXT``,
``hyperfine TEXT…``). Each launcher's grammar is in :data:`LAUNCHERS`: which
subcommand runs a command, which options take a value, which options hold
shell text, how many words (profile, directory, file) come before the command.
A launcher whose command part cannot be located is opaque.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentctl.gate.shell import Command


@dataclass(frozen=True)
class Launch:
    """The argv grammar of one launcher (after its subcommand words)."""

    valued: frozenset[str] = frozenset()
    """Options that take a value (the next word, unless given as ``--opt=value``)."""
    text: frozenset[str] = frozenset()
    """Options whose value is shell text the launcher runs."""
    starts: frozenset[str] = frozenset()
    """Options after which the command's argv starts (``nix develop -c cmd…``)."""
    positional: int = 0
    """Words before the command (``aws-vault exec PROFILE``, ``direnv exec DIR``, ``chroot NEWROOT``)."""
    dashdash: bool = False
    """The command only comes after ``--`` (``mise exec TOOL… -- cmd``)."""
    shell: bool = False
    """The command words are shell text (each a command for ``hyperfine``, joined for ``watchexec``)."""
    command: bool = True
    """Whether positional words are a command at all (``nix-shell PKGS``: only ``--run TEXT`` runs)."""
    arity: dict[str, int] = field(default_factory=dict)
    """Options taking more than one value (``bwrap --bind SRC DEST``)."""
    reads: frozenset[str] = frozenset({"--env-file"})
    """Options naming a file the launcher reads (an env file: its secrets reach the command)."""


def _f(*names: str) -> frozenset[str]:
    return frozenset(names)


_NPX = Launch(valued=_f("-p", "--package", "--prefix", "-w", "--workspace"), text=_f("-c", "--call"))
_PYRUN = Launch(valued=_f("-e", "--env", "-E", "--environment", "-C", "--directory", "--project", "-p", "--python"))
_UV = Launch(valued=_f(
    "--with", "--with-editable", "--with-requirements", "--python", "-p", "--package", "--directory", "--project",
    "--env-file", "--extra", "--group", "--only-group", "--no-group", "--no-extra", "--index", "--default-index",
    "--index-url", "-i", "--extra-index-url", "--find-links", "-f", "--cache-dir", "--config-file",
    "--exclude-newer", "--prerelease", "--resolution", "--refresh-package", "--upgrade-package", "-P",
    "--reinstall-package", "--link-mode", "--color", "--keyring-provider", "--python-platform", "-C",
    "--config-setting", "--index-strategy", "--fork-strategy", "--from", "--no-binary-package",
    "--no-build-package", "--allow-insecure-host",
))  # fmt: skip
_CONDA = Launch(valued=_f("-n", "--name", "-p", "--prefix", "--cwd", "-a", "--arch"))
_SYSTEMD_RUN = Launch(valued=_f(
    "-u", "--unit", "-p", "--property", "-E", "--setenv", "--description", "--slice", "-M", "--machine", "--uid",
    "--gid", "--working-directory", "-H", "--host", "--on-active", "--on-boot", "--on-startup",
    "--on-unit-active", "--on-unit-inactive", "--on-calendar", "--on-timer-property", "--timer-property",
    "--path-property", "--socket-property", "--service-type", "--nice", "--expand-environment", "--slice-inherit",
))  # fmt: skip
_BWRAP_ARITY = {
    **dict.fromkeys(("--bind", "--bind-try", "--ro-bind", "--ro-bind-try", "--dev-bind", "--dev-bind-try",
                     "--symlink", "--setenv", "--chmod", "--file", "--bind-data", "--ro-bind-data"), 2),
    **dict.fromkeys(("--dir", "--tmpfs", "--proc", "--dev", "--chdir", "--unsetenv", "--uid", "--gid", "--hostname",
                     "--lock-file", "--sync-fd", "--info-fd", "--json-status-fd", "--block-fd", "--userns-block-fd",
                     "--seccomp", "--add-seccomp-fd", "--args", "--cap-add", "--cap-drop", "--perms", "--size",
                     "--remount-ro", "--mqueue", "--exec-label", "--file-label", "--userns", "--userns2",
                     "--pidns", "--argv0", "--overlay-src", "--tmp-overlay", "--ro-overlay"), 1),
    "--overlay": 3,
}  # fmt: skip

LAUNCHERS: dict[str, dict[tuple[str, ...], Launch]] = {
    "npx": {(): _NPX},
    "bunx": {(): Launch()},
    "npm": {("exec",): _NPX, ("x",): _NPX},
    "pnpm": {("exec",): Launch(valued=_f("-C", "--dir", "--filter", "-F")), ("dlx",): Launch()},
    "yarn": {("exec",): Launch(), ("dlx",): Launch(valued=_f("-p", "--package"))},
    "bun": {("x",): Launch(), ("exec",): Launch(shell=True)},
    "uv": {("run",): _UV, ("tool", "run"): _UV},
    "uvx": {(): _UV},
    "pipx": {("run",): Launch(valued=_f("--spec", "--python", "--pip-args", "--index-url"))},
    "poetry": {("run",): _PYRUN},
    "pipenv": {("run",): _PYRUN},
    "hatch": {("run",): _PYRUN},
    "pdm": {("run",): _PYRUN},
    "rye": {("run",): _PYRUN},
    "pixi": {("run",): Launch(valued=_f("-e", "--environment", "--manifest-path"))},
    "conda": {("run",): _CONDA},
    "mamba": {("run",): _CONDA},
    "micromamba": {("run",): _CONDA},
    "bundle": {("exec",): Launch(valued=_f("--gemfile"))},
    "devbox": {("run",): Launch(valued=_f("-c", "--config", "-e", "--env", "--env-file"))},
    "nix": {("run",): Launch(), ("develop",): Launch(starts=_f("-c", "--command"), command=False),
            ("shell",): Launch(starts=_f("-c", "--command"), command=False)},
    "nix-shell": {(): Launch(valued=_f("-A", "--attr", "-I", "--arg", "--argstr"), text=_f("--run", "--command"),
                             arity={"--arg": 2, "--argstr": 2}, command=False)},
    "mise": {("exec",): Launch(valued=_f("-C", "--cd", "-j", "--jobs"), text=_f("-c", "--command"), dashdash=True),
             ("x",): Launch(valued=_f("-C", "--cd", "-j", "--jobs"), text=_f("-c", "--command"), dashdash=True)},
    "asdf": {("exec",): Launch()},
    "rtx": {("exec",): Launch(dashdash=True), ("x",): Launch(dashdash=True)},
    "direnv": {("exec",): Launch(positional=1)},
    "dotenv": {("run",): Launch(),
               (): Launch(valued=_f("-e", "-v", "-f", "--file", "-p", "-c"), reads=_f("-e", "-f", "--file"))},
    "dotenv-cli": {(): Launch(valued=_f("-e", "-v", "-p", "-c"), reads=_f("-e"))},
    "op": {("run",): Launch(valued=_f("--env-file", "--account", "--environment"))},
    "aws-vault": {("exec",): Launch(valued=_f("-d", "--duration", "-t", "--mfa-token", "--region", "-j"),
                                    positional=1)},
    "doppler": {("run",): Launch(valued=_f("-p", "--project", "-c", "--config", "--token", "--mount",
                                           "--mount-format", "--name-transformer", "--fallback"),
                                 text=_f("--command"))},
    "sops": {("exec-env",): Launch(positional=1, shell=True), ("exec-file",): Launch(positional=1, shell=True)},
    "systemd-run": {(): _SYSTEMD_RUN},
    "sg": {(): Launch(text=_f("-c"), positional=1)},
    "fakeroot": {(): Launch(valued=_f("-l", "--lib", "--faked", "-s", "-i", "-b"))},
    "firejail": {(): Launch()},
    "bwrap": {(): Launch(arity=_BWRAP_ARITY)},
    "nsenter": {(): Launch(valued=_f("-t", "--target", "-S", "--setuid", "-G", "--setgid"))},
    "chroot": {(): Launch(positional=1)},
    "valgrind": {(): Launch()},
    "hyperfine": {(): Launch(
        valued=_f("-w", "--warmup", "-m", "--min-runs", "-M", "--max-runs", "-r", "--runs", "-S", "--shell", "-n",
                  "--command-name", "-D", "--parameter-step-size", "-u", "--time-unit", "--style", "--sort",
                  "--export-asciidoc", "--export-csv", "--export-json", "--export-markdown", "--export-orgmode",
                  "--output", "--input", "-i"),
        text=_f("-p", "--prepare", "-c", "--cleanup", "-s", "--setup", "--conclude"),
        arity={"-L": 2, "--parameter-list": 2, "-P": 3, "--parameter-scan": 3}, shell=True)},
    "entr": {(): Launch()},
    "watchexec": {(): Launch(valued=_f(
        "-w", "--watch", "-W", "--watch-non-recursive", "-e", "--exts", "-f", "--filter", "--filter-file", "-i",
        "--ignore", "--ignore-file", "-d", "--debounce", "--delay-run", "-s", "--signal", "--stop-signal",
        "--stop-timeout", "--shell", "-E", "--env", "--project-origin", "--workdir", "--on-busy-update", "--poll",
        "--emit-events-to", "--log-file", "--color", "--timeout", "--wrap-process", "-j", "--filter-prog"),
        shell=True)},
    "nodemon": {(): Launch(valued=_f("-w", "--watch", "-e", "--ext", "-i", "--ignore", "-d", "--delay", "--signal",
                                     "--config"), text=_f("-x", "--exec"), command=False)},
    "vagrant": {("ssh",): Launch(text=_f("-c", "--command"), command=False)},
}  # fmt: skip
"""Launchers by name, then by the subcommand words that make them run a command."""


def locate(name: str, argv: list[str], cmd: Command) -> int | None:
    """Where the launched command starts in ``argv`` (rewritten to ``sh -c`` for shell text), or None."""
    spec, i = None, 1
    for sub, grammar in LAUNCHERS[name].items():
        if tuple(argv[1 : 1 + len(sub)]) == sub:
            spec, i = grammar, 1 + len(sub)
            break
    if spec is None:
        return None
    if name.startswith("dotenv") and not any(a.split("=")[0] in spec.reads for a in argv[1:]):
        cmd.reads.append(".env")  # dotenv-cli reads ./.env unless told another file
    if name == "nix" and argv[1:2] == ["run"]:
        return _nix_run(argv, cmd)
    if name == "uv" and argv[1:2] == ["run"]:
        _uv_run(argv, cmd)
    n, texts, literal, start, skipped = len(argv), [], True, None, 0
    while i < n:
        key, eq, value = argv[i].partition("=")
        if not argv[i].startswith("-") or argv[i] == "-":
            if skipped < spec.positional:  # PROFILE, DIR, FILE, GROUP
                skipped += 1
            elif spec.command and not spec.dashdash:
                start = i
                break
            i += 1
        elif argv[i] == "--" or key in spec.starts:
            start = i + 1 if key in spec.starts or spec.command else n
            break
        elif key in spec.text:
            if not eq and i + 1 >= n:
                cmd.opaque = cmd.opaque or f"{name} {key} runs text agentctl cannot locate"
                return None
            texts.append(value if eq else argv[i + 1])
            literal = literal and cmd.literal[i] and (bool(eq) or cmd.literal[i + 1])
            i += 1 if eq else 2
        else:
            if key in spec.reads and (eq or i + 1 < n):
                cmd.reads.append(value if eq else argv[i + 1])
            i += 1 if eq else 1 + spec.arity.get(key, 1 if key in spec.valued else 0)
    start = n if start is None else start
    if not texts:
        if start >= n:
            return None
        if spec.shell:
            return _shell(argv, cmd, start)
        return start
    words = argv[start:]
    if not all(cmd.literal[start:]) or not literal:
        cmd.opaque = cmd.opaque or f"{name} runs command text computed at run time"
        return None
    if words:
        sep = " ; " if name == "hyperfine" else " "
        texts.append(sep.join(words) if spec.shell else shlex.join(words))
    _as_shell(argv, cmd, " ; ".join(texts))
    return 1


def _shell(argv: list[str], cmd: Command, start: int) -> int | None:
    """``hyperfine 'a' 'b'``, ``sops exec-env FILE 'cmd'``: the words are shell text."""
    if not all(cmd.literal[start:]):
        cmd.opaque = cmd.opaque or f"{argv[0]} runs command text computed at run time"
        return None
    _as_shell(argv, cmd, (" ; " if argv[0].endswith("hyperfine") else " ").join(argv[start:]))
    return 1


def _as_shell(argv: list[str], cmd: Command, text: str) -> None:
    argv[:] = [argv[0], "sh", "-c", text]
    cmd.literal[:] = [True, True, True, True]


def _uv_run(argv: list[str], cmd: Command) -> None:
    """``uv run -m MOD`` is ``python -m MOD``; ``uv run --script FILE`` runs FILE with Python (as ``FILE.py`` is)."""
    i = 2
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "--":
        key, eq, value = argv[i].partition("=")
        if key in ("-m", "--module"):
            words = ["python", "-m", value] if eq else ["python", "-m"]
            argv[i : i + 1] = words
            cmd.literal[i : i + 1] = [True] * (len(words) - 1) + [cmd.literal[i]]
            return
        if key in ("-s", "--script") and not eq:
            argv[i : i + 1] = ["python"]
            return
        i += 2 if key in _UV.valued and not eq else 1


def _nix_run(argv: list[str], cmd: Command) -> int | None:
    """``nix run nixpkgs#terraform -- apply`` runs the package's program: ``terraform apply``."""
    i = 2
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "--":
        i += 1
    if i >= len(argv) or argv[i] == "--":
        cmd.opaque = cmd.opaque or "nix run runs a flake's program agentctl cannot name"
        return None
    program = argv[i].rsplit("#", 1)[-1].rsplit(".", 1)[-1] if "#" in argv[i] else ""
    if not program or not cmd.literal[i]:
        cmd.opaque = cmd.opaque or f"nix run runs the program of {argv[i]}"
        return None
    rest = argv[i + 1 :]
    literal = cmd.literal[i + 1 :]
    if rest[:1] == ["--"]:
        rest, literal = rest[1:], literal[1:]
    argv[:] = [argv[0], program, *rest]
    cmd.literal[:] = [True, True, *literal]
    return 1
