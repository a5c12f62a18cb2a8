"""A model request's record once it is over: what it cost (failing closed on what the meter could not read)."""

from __future__ import annotations

from typing import Any

from agentctl.gateway.budget import Budget
from agentctl.gateway.streams import Reading
from agentctl.model.run import Usage

LENGTH_STOPS = ("max_tokens", "max_output_tokens")


def settle(budget: Budget, record: dict[str, Any], reading: Reading, model: str | None, cut: str | None) -> None:
    """Charge the request to ``budget`` and complete ``record`` (usage, cost, model, errors, the limit it hit)."""
    if record["metered"]:
        output = reading.output_tokens if reading.final else reading.live_output
        usage = Usage(reading.input_tokens, output, reading.cache_read_tokens, reading.cache_write_tokens)
        # Fail closed: an answer that ended normally without the provider's usage (none sent, an encoding
        # or framing the meter cannot read, a body too large to read) is charged all it could have cost.
        unread = (
            not reading.final
            and int(record.get("status") or 0) < 400
            and cut is None
            and "error_type" not in record
            and reading.error_type is None
        )
        usage = budget.fill(int(record["id"]), usage, input_known=reading.started, reserve=unread)
        if unread:
            record["unmetered"] = True
        cost = budget.cost_of(reading.response_model or model, usage)
        budget.finish(int(record["id"]), usage, cost, input_stated=reading.started)
        record.update(
            model_answered=reading.response_model,
            response_id=reading.response_id,
            usage=vars(usage),
            reasoning_tokens=reading.reasoning_tokens,
            cost_usd=cost,
            stop_reason=reading.stop_reason,
            estimated=not reading.final,
        )
        if reading.error_type and "error_type" not in record:
            record["error_type"] = reading.error_type
        if reading.output:
            record.setdefault("content", {})["output"] = reading.output
    status = int(record.get("status") or 0)
    if status >= 400 and "error_type" not in record:
        record["error_type"] = str(status)
    if cut is None and record.get("capped_by") and record.get("stop_reason") in LENGTH_STOPS:
        # The answer ran into the max_tokens the budget allowed: the budget is what stopped it.
        limit = str(record["capped_by"])
        flag = "--" + limit.replace("_", "-")
        cut = f"{limit}: the response used all {record['max_tokens_sent']:,} output tokens {flag} left"
    if cut is not None:
        budget.exhausted = cut
        record["cut"] = cut.split(":", 1)[0]
        record["message"] = cut
        record["error_type"] = "budget_exhausted"
