"""The one interface every sandbox backend implements, and what it is asked to enforce.

A :class:`Profile` says what the agent may see and change, in platform-neutral
terms (absolute paths and environment variable names); a :class:`Backend`
turns it into a command line that starts the agent inside that view of the
machine. Linux has bubblewrap (``bwrap.py``); macOS ``sandbox-exec`` can follow
behind the same two methods.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from pathlib import Path

from agentctl.errors import AgentctlError


class SandboxError(AgentctlError):
    """The sandbox cannot be built here (exit 2, with a hint); ``agentctl run`` fails closed."""


@dataclass(frozen=True)
class Profile:
    """What the agent may read, change and see. Paths are absolute.

    ``state`` names the paths inside read-only trees that the agent's own CLI must
    write to work at all (session transcripts, locks, its own small databases):
    each gets a private per-run copy (``copy``) or an empty place (``fresh``) that
    is discarded when the run ends, so the real files never change.
    """

    read_only: tuple[Path, ...]
    hidden: tuple[Path, ...] = ()
    hidden_env: tuple[str, ...] = ()
    state: tuple[tuple[Path, str], ...] = ()
    """``(path, "copy" | "fresh")``."""
    home: Path | None = None
    """Built privately per run (so nothing the agent creates at its top level persists)."""
    private_roots: tuple[Path, ...] = ()
    """Other directories built privately (``$CODEX_HOME`` outside the home directory)."""
    cwd: Path = field(default_factory=Path.cwd)
    root: Path | None = None
    """The repository root (``cwd`` when outside git): everything in it but the protected set stays writable."""
    allow_credentials: tuple[str, ...] = ()

    def with_read_only(self, *paths: Path) -> Profile:
        """The same profile with more read-only paths (e.g. the gate's socket directory)."""
        return replace(self, read_only=(*self.read_only, *paths))


class Backend(ABC):
    """One way of confining a process on one platform."""

    name: str
    install_hint: str

    @abstractmethod
    def available(self) -> str | None:
        """``None`` when this backend works here, else the reason it does not (one line)."""

    @abstractmethod
    def wrap(self, argv: list[str], profile: Profile) -> list[str]:
        """``argv`` started inside the sandbox that ``profile`` describes."""

    def prepare(self, profile: Profile) -> None:  # noqa: B027 - most backends need nothing on disk
        """Create what :meth:`wrap` needs on disk, before the run starts (and its tripwire looks)."""

    def cleanup(self) -> None:  # noqa: B027 - most backends leave nothing behind
        """Remove what :meth:`prepare` and :meth:`wrap` left on disk (mount points, private copies)."""

    def signal_group(self, pid: int) -> int:
        """The process group to signal for a graceful stop of the agent started as ``pid``."""
        return pid
