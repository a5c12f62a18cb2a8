"""The store's own error types (see :class:`agentctl.errors.AgentctlError`)."""

from __future__ import annotations

from agentctl.errors import AgentctlError


class StoreError(AgentctlError):
    """See :class:`agentctl.errors.AgentctlError`."""


class StoreUnavailable(StoreError):
    """The store's server cannot be reached (or stopped answering): a run records locally instead."""
