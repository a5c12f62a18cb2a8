"""Linux: the agent in a bubblewrap (``bwrap``) sandbox.

The agent sees the machine as it is (``--bind / /``: same paths, same network,
its repository writable) with these differences:

* the protected set is mounted read-only over it; a protected path that does not
  exist yet gets an empty read-only directory as a placeholder, so it cannot be
  created either (removed again after the run if still empty, or at the next
  start when agentctl was killed: :mod:`agentctl.sandbox.leftovers`);
* hidden paths are not there (credentials, the store key);
* the home directory, and ``$CODEX_HOME`` when it lies elsewhere, are rebuilt
  per run in a private scratch directory: every entry of the real one is bound
  back (read-only when protected, left out when hidden), and what the agent's
  own CLI must write there (``~/.claude.json``, session files, its small
  databases) is a private copy that is discarded with the run. Nothing the agent
  does at the top of these directories reaches the real ones;
* its own PID namespace, no capabilities (``--cap-drop ALL``: root inside cannot
  unmount anything), a new session (no controlling terminal to push keystrokes
  into), and it dies with agentctl (``--die-with-parent``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from agentctl.sandbox.interface import Backend, Profile, SandboxError
from agentctl.sandbox.leftovers import SCRATCH_PREFIX, Leftovers, sweep

ISOLATION = ("--unshare-pid", "--die-with-parent", "--new-session", "--cap-drop", "ALL")
BASE = ("--bind", "/", "/", "--dev", "/dev", "--proc", "/proc", *ISOLATION)

HINT = (
    "install bubblewrap (apt-get install bubblewrap, dnf install bubblewrap); on Ubuntu 24.04 also allow "
    "unprivileged user namespaces (sysctl kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor "
    "profile for bwrap); or pass --sandbox off (recorded; such runs never count as clean trust evidence)"
)


class BwrapBackend(Backend):
    name = "bwrap"
    install_hint = HINT

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable if executable is not None else shutil.which("bwrap")
        self.scratch: Path | None = None
        self.created: list[Path] = []
        """Placeholders made on the real disk, removed by :meth:`cleanup` when still empty."""
        self._ops: list[str] | None = None
        self._planned: set[Path] = set()
        self.leftovers: Leftovers | None = None

    def available(self) -> str | None:
        """Probe with ``bwrap … true``; a success is remembered until the machine or the settings change."""
        if not self.executable:
            return "bwrap (bubblewrap) is not installed or not on PATH"
        marker = _probe_marker(self.executable)
        if marker is not None and marker.is_file():
            return None  # a stale marker cannot weaken anything: a bwrap that fails still stops the run
        reason = self._probe()
        if reason is None and marker is not None:
            with contextlib.suppress(OSError):
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.touch()
        return reason

    def _probe(self) -> str | None:
        assert self.executable is not None
        try:
            probe = subprocess.run(
                [self.executable, *BASE, "--", "true"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bwrap could not be started: {exc}"
        if probe.returncode != 0:
            detail = probe.stderr.decode(errors="replace").strip().splitlines()
            return "bwrap cannot build a sandbox here" + (f": {detail[-1]}" if detail else "")
        return None

    # -- building the view -------------------------------------------------
    def prepare(self, profile: Profile) -> None:
        if self._ops is not None:
            return
        work = (profile.root or profile.cwd).resolve()
        if profile.home is not None and (work == profile.home or profile.home.is_relative_to(work)):
            raise SandboxError(
                f"cannot sandbox a run whose working directory {work} contains the home directory",
                "run agentctl inside a repository, not the home directory itself, or pass --sandbox off",
            )
        sweep(work)  # what a killed agentctl left: before this run's start state is taken
        self.scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=_scratch_base()))
        os.chmod(self.scratch, 0o700)
        self.leftovers = Leftovers(work)
        self.leftovers.begin(self.scratch)
        plan = _Plan(profile, self.scratch, work, self.leftovers.note)
        try:
            plan.build()
        finally:
            self.created = plan.created
        self._ops = plan.ops
        self._planned = set(profile.read_only)

    def wrap(self, argv: list[str], profile: Profile) -> list[str]:
        self.prepare(profile)
        assert self._ops is not None and self.scratch is not None
        extra: list[str] = []
        for path in profile.read_only:  # added after prepare (the gate's socket directory)
            if path not in self._planned and path.exists():
                extra += ["--ro-bind", str(path), str(path)]
        unset = [a for name in profile.hidden_env for a in ("--unsetenv", name)]
        # under /dev/shm the sandbox's own /dev hides it already
        hide_scratch = [] if self.scratch.is_relative_to("/dev") else ["--tmpfs", str(self.scratch)]
        return [
            str(self.executable),
            *BASE,
            *self._ops,
            *extra,
            *hide_scratch,
            *unset,
            "--chdir",
            str(profile.cwd),
            "--",
            *argv,
        ]

    def cleanup(self) -> None:
        for path in sorted(self.created, key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                path.rmdir()  # only while empty: never removes what someone put there since
        self.created = []
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None
        if self.leftovers is not None:
            self.leftovers.end()  # all of it is gone: nothing for the next start to remove
            self.leftovers = None
        self._ops = None

    def signal_group(self, pid: int) -> int:
        """The agent's own process group inside the sandbox (bwrap itself would die on SIGINT at once)."""
        try:
            table = _process_table()
        except OSError:
            return pid
        outer = table.get(pid, (0, pid))[1]
        frontier = [pid]
        while frontier:
            parent = frontier.pop(0)
            for child, (ppid, pgrp) in table.items():
                if ppid != parent:
                    continue
                if pgrp != outer:
                    return pgrp
                frontier.append(child)
        return pid


def _scratch_base() -> str | None:
    """Memory-backed /dev/shm when there is one (the private home is small and short-lived)."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


PROBE_INPUTS = (
    "/proc/sys/kernel/random/boot_id",
    "/proc/sys/kernel/unprivileged_userns_clone",
    "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
    "/proc/sys/user/max_user_namespaces",
)
"""What decides whether bwrap works: a change to any of them (or a reboot) probes again."""


def _probe_marker(executable: str) -> Path | None:
    """A per-user cache file named by a digest of bwrap, the user and the kernel settings."""
    import hashlib

    try:
        info = os.stat(executable)
    except OSError:
        return None
    parts = [executable, str(info.st_mtime_ns), str(info.st_size), str(os.getuid()), *ISOLATION]
    for name in PROBE_INPUTS:
        try:
            parts.append(Path(name).read_text().strip())
        except OSError:
            parts.append("-")
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "agentctl", "sandbox", f"bwrap-ok-{digest}")


def _process_table() -> dict[int, tuple[int, int]]:
    """pid → (ppid, process group), from /proc."""
    table: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2 :].split()
        table[int(entry)] = (int(fields[1]), int(fields[2]))
    return table


class _Plan:
    """The bwrap mount operations for one profile, and the placeholders they need."""

    def __init__(self, profile: Profile, scratch: Path, work: Path, note: Callable[[Path], None]) -> None:
        self.profile = profile
        self.note = note
        self.scratch = scratch
        self.work = work
        self.ops: list[str] = []
        self.created: list[Path] = []
        self.read_only = set(profile.read_only)
        self.hidden = set(profile.hidden)
        self.state = dict(profile.state)
        self.roots = [r for r in (profile.home, *profile.private_roots) if r is not None and not self._in_work(r)]
        self._count = 0

    def _in_work(self, path: Path) -> bool:
        return path == self.work or path.is_relative_to(self.work)

    def _private(self, path: Path) -> bool:
        """Handled by rebuilding a private root (home, $CODEX_HOME), not by mounts over the real disk."""
        return not self._in_work(path) and any(path.is_relative_to(r) for r in self.roots)

    def build(self) -> None:
        specials = self.read_only | self.hidden | set(self.state)
        host = sorted((p for p in self.read_only if not self._private(p)), key=lambda p: len(p.parts))
        for path in host:
            if not path.exists() and not any(path != d and path.is_relative_to(d) for d in host):
                self._placeholder(path)  # first: the pins below include the parents it creates
        pins = self._pins([*host, *(h for h in self.hidden if not self._private(h))])
        for pin in pins:
            if not self._private(pin):
                self._add("--bind", pin, pin)
        for root in self.roots:
            if root.is_dir() and not any(root != r and root.is_relative_to(r) for r in self.roots):
                self._rebuild(root, self._new_scratch(), specials, protected=root in self.read_only, sealed=False)
        for pin in pins:
            if self._private(pin):
                self._add("--bind", pin, pin)
        done: list[Path] = []
        rebuilt: list[Path] = []
        for path in host:
            if any(path.is_relative_to(d) for d in done):
                continue  # already read-only through a parent
            done.append(path)
            inner_hidden = [h for h in self.hidden if h != path and h.is_relative_to(path)]
            if inner_hidden and path.is_dir() and not path.is_symlink():
                # rebuilt rather than bound: a hidden file created later (the store key) stays invisible
                self._rebuild(path, self._new_scratch(), specials, protected=True, sealed=True)
                rebuilt.append(path)
            elif path.exists():
                self._add("--ro-bind", path, path)
        for path in sorted(self.hidden, key=lambda p: len(p.parts)):
            if self._private(path) or any(path.is_relative_to(d) for d in rebuilt):
                continue
            self._hide(path)

    def _pins(self, targets: list[Path]) -> list[Path]:
        """Directories to pin by binding them onto themselves: a mount point cannot be renamed or removed.

        Without this, ``mv .git .git-old`` (or renaming the repository, or a parent of
        agentctl's installation) moves the read-only mounts away with their directory
        and frees the name for a look-alike whose config git would obey outside the
        sandbox. Every parent of the repository, of each private root and of each
        protected path is pinned; what lies inside a read-only path needs no pin.
        """
        wanted: set[Path] = {self.work}
        for target in [self.work, *self.roots, *targets]:
            wanted |= set(target.parents)
        wanted.discard(Path("/"))
        out = []
        for pin in wanted:
            if any(pin == r or pin.is_relative_to(r) for r in self.read_only | self.hidden):
                continue
            if pin in self.roots or not pin.is_dir() or pin.is_symlink():
                continue
            out.append(pin)
        return sorted(out, key=lambda p: (len(p.parts), str(p)))

    def _new_scratch(self) -> Path:
        self._count += 1
        path = self.scratch / f"d{self._count}"
        path.mkdir()
        return path

    def _add(self, op: str, *paths: Path | str) -> None:
        self.ops += [op, *(str(p) for p in paths)]

    def _hide(self, path: Path) -> None:
        if path.is_symlink() or path.is_file():
            self._add("--ro-bind", "/dev/null", path)
        elif path.is_dir():
            self._add("--tmpfs", path)
            self._add("--remount-ro", path)

    def _placeholder(self, path: Path) -> None:
        """An empty directory where a protected path does not exist yet (bound read-only like the rest)."""
        missing: list[Path] = []
        probe = path
        while not probe.exists() and not probe.is_symlink():
            missing.append(probe)
            probe = probe.parent
        if not probe.is_dir():
            return  # under a file (e.g. a worktree's .git file): nothing can be created there
        try:
            for directory in reversed(missing):
                self.note(directory)  # written down first: a SIGKILL now still lets the next start remove it
                directory.mkdir()
                self.created.append(directory)
        except OSError:
            return  # we cannot create it, so neither can the agent (same user)

    def _rebuild(self, real: Path, private: Path, specials: set[Path], *, protected: bool, sealed: bool) -> None:
        """Bind ``private`` at ``real`` and each entry of ``real`` back into it, by its kind."""
        self._add("--bind", private, real)
        try:
            entries = sorted(os.scandir(real), key=lambda e: e.name)
        except OSError:
            entries = []
        for entry in entries:
            path = real / entry.name
            mine = private / entry.name
            if path in self.hidden:
                continue
            mode = self.state.get(path)
            if mode is not None:
                self._private_copy(path, mine, copy=mode == "copy")
                continue
            inner_protected = protected or path in self.read_only
            is_dir = entry.is_dir(follow_symlinks=False)
            if is_dir and any(s != path and s.is_relative_to(path) and not self._in_work(s) for s in specials):
                mine.mkdir()
                self._rebuild(path, mine, specials, protected=inner_protected, sealed=sealed)
            elif entry.is_symlink() and not inner_protected:
                self._add("--symlink", os.readlink(path), path)
            else:
                if is_dir or (entry.is_symlink() and path.is_dir()):
                    mine.mkdir()
                else:
                    mine.touch()
                self._add("--ro-bind" if inner_protected else "--bind", path, path)
        if sealed:
            self._add("--remount-ro", real)

    @staticmethod
    def _private_copy(path: Path, mine: Path, *, copy: bool) -> None:
        try:
            info = path.lstat()
            if stat.S_ISDIR(info.st_mode):
                if copy:
                    shutil.copytree(path, mine, symlinks=True)
                else:
                    mine.mkdir()
            elif stat.S_ISREG(info.st_mode) and copy:
                shutil.copy2(path, mine)
        except OSError as exc:
            raise SandboxError(
                f"cannot prepare a private copy of {path} for the sandbox: {exc.strerror or exc}",
                "check the file's permissions, or pass --sandbox off",
            ) from None
