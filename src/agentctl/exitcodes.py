"""Exit codes shared by every command (PRODUCT.md)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    PASSED = 0
    BLOCKED = 1
    USAGE = 2
    APPROVAL_REQUIRED = 3
    AGENT_FAILED = 4
    BUDGET_EXHAUSTED = 5
    BREAKER_TRIPPED = 6
    INTERRUPTED = 130
