"""Which requests the gateway forwards at all, and which of them spend money (and are metered).

The agent reaches the upstream host only through the gateway, with the user's
key put back in, so the gateway forwards an allowlist, not "anything under the
host": the model call it meters, the free calls the agents make (token counts,
model lists, Claude Code's own account and settings endpoints), and nothing
else. A path outside the upstream's path prefix (another tenant of a shared
API gateway), a paid endpoint the meter does not read (message batches, the
legacy completions API, chat completions, images, audio) and any path that is
spelled so that the upstream may read it differently than we do (percent
escapes, ``..``, ``//``, ``;``, a backslash) are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

METERED = "metered"
FREE = "free"

_SEGMENT = r"[A-Za-z0-9_\-.~:@]+"
_SAFE_PATH = re.compile(rf"/(?:{_SEGMENT}(?:/{_SEGMENT})*/?)?")
"""A path of plain segments: what a model API's routes look like (no escapes, no empty or dot segments)."""

# (methods, route pattern relative to the upstream's path prefix, kind)
_ANTHROPIC: tuple[tuple[frozenset[str], re.Pattern[str], str], ...] = (
    (frozenset({"POST"}), re.compile(r"/v1/messages"), METERED),
    (frozenset({"POST"}), re.compile(r"/v1/messages/count_tokens"), FREE),
    (frozenset({"GET", "HEAD"}), re.compile(r"/v1/models(?:/[^/]+)?"), FREE),
    (frozenset({"GET", "HEAD", "POST"}), re.compile(r"/v1/files(?:/[^/]+(?:/content)?)?"), FREE),
    # Claude Code's own endpoints (account, settings, policy limits, event logging): no model spend
    (frozenset({"GET", "HEAD", "POST"}), re.compile(r"/api/(?:claude_code|oauth|event_logging|claude_cli)/.+"), FREE),
)
_OPENAI: tuple[tuple[frozenset[str], re.Pattern[str], str], ...] = (
    (frozenset({"POST"}), re.compile(r"/responses"), METERED),
    (frozenset({"POST"}), re.compile(r"/responses/compact"), METERED),
    (frozenset({"GET", "HEAD"}), re.compile(r"/responses/[A-Za-z0-9_\-]+"), FREE),
    (frozenset({"GET", "HEAD"}), re.compile(r"/models(?:/[^/]+)?"), FREE),
)


@dataclass(frozen=True)
class Route:
    kind: str | None
    """``metered``, ``free``, or ``None`` (refused)."""
    reason: str = ""


def classify(provider: str, prefix: str, method: str, raw_path: str) -> Route:
    """``raw_path``: the request target's path exactly as the agent sent it (query left off)."""
    if not _SAFE_PATH.fullmatch(raw_path) or "/../" in raw_path + "/" or "/./" in raw_path + "/":
        return Route(None, "the path is not a plain one (escapes, empty or dot segments)")
    prefix = prefix.rstrip("/")
    if prefix and not (raw_path == prefix or raw_path.startswith(prefix + "/")):
        return Route(None, f"the path is outside the API's base path {prefix}")
    route = raw_path[len(prefix) :].rstrip("/") or "/"
    table = _ANTHROPIC if provider == "anthropic" else _OPENAI
    for methods, pattern, kind in table:
        if pattern.fullmatch(route):
            if method.upper() in methods:
                return Route(kind)
            return Route(None, f"{method} is not forwarded to {route}")
    return Route(None, f"{route} is not a model API route the gateway forwards")


def proxy_for(origin: str) -> str | None:
    """HTTPS_PROXY / HTTP_PROXY / NO_PROXY for the upstream, read once (not per request, as trust_env does)."""
    from urllib.parse import urlsplit
    from urllib.request import getproxies, proxy_bypass

    parts = urlsplit(origin)
    proxy = getproxies().get(parts.scheme)
    if not proxy or proxy_bypass(parts.hostname or ""):
        return None
    return proxy
