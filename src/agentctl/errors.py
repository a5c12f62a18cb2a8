"""The one exception type every layer's errors derive from.

Each layer raises its own subclass; only the CLI edge catches them, printing
``message`` and ``hint`` and exiting 2 (usage or configuration error).
"""

from __future__ import annotations


class AgentctlError(Exception):
    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
