"""The store's own error type (see :class:`agentctl.errors.AgentctlError`)."""

from __future__ import annotations

from agentctl.errors import AgentctlError


class StoreError(AgentctlError):
    """See :class:`agentctl.errors.AgentctlError`."""
