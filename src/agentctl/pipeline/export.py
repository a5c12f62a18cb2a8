"""``agentctl export`` and the automatic export at the end of ``agentctl run``.

A run is marked ``delivered`` only after the collector acknowledged all its
spans; otherwise it stays ``pending`` and is retried by ``agentctl export
--pending`` or the next ``agentctl run``. Export never fails a run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from agentctl.export import otlp
from agentctl.store.sqlite import RunRecord, Store

AUTO_TIMEOUT = 3.0
"""Seconds ``agentctl run`` gives the collector at the end of a run (then the run stays pending)."""
AUTO_PENDING = 20
"""Earlier pending runs ``agentctl run`` retries after its own."""


@dataclass
class Delivery:
    run_id: str
    delivered: bool
    spans: int
    seconds: float


def export_runs(
    store: Store, runs: list[RunRecord], *, capture_content: bool, timeout: float | None = None
) -> list[Delivery]:
    span_exporter = otlp.exporter(timeout)
    deliveries = []
    try:
        for record in runs:
            start = time.perf_counter()
            events = list(store.events(record.id))
            spans = otlp.build_spans(record, events, capture_content)
            ok, count = otlp.send(spans, span_exporter)
            if ok:
                store.update_run(record.id, export_state="delivered")
                _send_metrics(record, events, timeout)
            deliveries.append(Delivery(record.id, ok, count, time.perf_counter() - start))
            if not ok:
                break  # the collector is down: leave the rest pending
    finally:
        span_exporter.shutdown()
    return deliveries


def _send_metrics(record: RunRecord, events: list[dict[str, Any]], timeout: float | None) -> None:
    """The gateway's GenAI client metrics; best effort (a traces-only collector must not fail the export)."""
    import os

    if os.environ.get("OTEL_METRICS_EXPORTER", "otlp").strip().lower() == "none" or not (
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
    ):
        return
    from agentctl.export import metrics

    requests = [e["data"] for e in events if e["kind"] == "model_request" and e.get("data", {}).get("metered")]
    data = metrics.build_metrics(record, requests, otlp.provider_of(record.agent))
    if data is None:
        return
    metric_exporter = metrics.exporter(timeout)
    try:
        metrics.send(data, metric_exporter)
    except Exception:
        return
    finally:
        metric_exporter.shutdown()


def warm_up() -> None:
    """Import the OpenTelemetry SDK and exporters (~0.15 s) while the agent works, not after it."""
    import threading

    def load() -> None:
        try:
            otlp.exporter(AUTO_TIMEOUT).shutdown()
            import opentelemetry.sdk.trace  # noqa: F401
        except Exception:
            return

    threading.Thread(target=load, name="agentctl-otlp-warmup", daemon=True).start()


def auto_export(store: Store, run_id: str) -> Delivery | None:
    """Called by ``agentctl run`` when an OTLP endpoint is configured. Never raises."""
    if not otlp.endpoint_configured():
        return None
    try:
        own = export_runs(
            store, [store.get_run(run_id)], capture_content=otlp.capture_content_default(), timeout=AUTO_TIMEOUT
        )
        if own and own[0].delivered:
            pending = [r for r in store.pending_exports(AUTO_PENDING) if r.id != run_id]
            if pending:
                export_runs(store, pending, capture_content=otlp.capture_content_default(), timeout=AUTO_TIMEOUT)
        return own[0] if own else None
    except Exception:  # export must never break or fail a run: it stays pending
        return None
