"""A run's GenAI client metrics over OTLP: ``gen_ai.client.token.usage`` and ``…operation.duration``.

One delta histogram point per distinct attribute set (model, token type,
server, error), covering the run's window, with the conventions' explicit
bucket boundaries. Built as finished SDK data (no meter provider, no reader
thread) and sent once, like the spans.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Sequence
from typing import Any

from agentctl.export.genai import DURATION_BUCKETS, TOKEN_BUCKETS, metric_points
from agentctl.store.sqlite import RunRecord


def _histogram(
    name: str,
    unit: str,
    description: str,
    points: Sequence[tuple[dict[str, Any], float]],
    bounds: Sequence[float],
    start: int,
    end: int,
) -> Any:
    from opentelemetry.sdk.metrics.export import AggregationTemporality, Histogram, HistogramDataPoint, Metric

    grouped: dict[tuple[tuple[str, Any], ...], list[float]] = {}
    for attributes, value in points:
        grouped.setdefault(tuple(sorted(attributes.items())), []).append(value)
    data_points = []
    for key, values in grouped.items():
        counts = [0] * (len(bounds) + 1)
        for value in values:
            counts[bisect.bisect_left(bounds, value)] += 1
        data_points.append(
            HistogramDataPoint(
                attributes=dict(key),
                start_time_unix_nano=start,
                time_unix_nano=end,
                count=len(values),
                sum=sum(values),
                bucket_counts=counts,
                explicit_bounds=list(bounds),
                min=min(values),
                max=max(values),
            )
        )
    return Metric(name, description, unit, Histogram(data_points, AggregationTemporality.DELTA))


def build_metrics(record: RunRecord, requests: Sequence[dict[str, Any]], provider: str) -> Any | None:
    """The run's metrics as SDK ``MetricsData``, or None when the gateway saw no request."""
    if not requests:
        return None
    from opentelemetry.sdk.metrics.export import MetricsData, ResourceMetrics, ScopeMetrics
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    from agentctl import __version__

    tokens, durations = metric_points(requests, provider)
    start = int(record.started_at * 1e9)
    end = int((record.ended_at or max(r["ended"] for r in requests)) * 1e9)
    metrics = [
        _histogram(
            "gen_ai.client.operation.duration", "s", "GenAI operation duration", durations, DURATION_BUCKETS, start, end
        )
    ]
    if tokens:
        token_points = [(a, float(v)) for a, v in tokens]
        metrics.append(
            _histogram(
                "gen_ai.client.token.usage",
                "{token}",
                "Number of input and output tokens used",
                token_points,
                TOKEN_BUCKETS,
                start,
                end,
            )
        )
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "agentctl")})
    scope = InstrumentationScope("agentctl", __version__)
    return MetricsData([ResourceMetrics(resource, [ScopeMetrics(scope, metrics, "")], "")])


def exporter(timeout: float | None = None) -> Any:
    """The OTLP metric exporter the environment asks for (same protocol rules as the spans)."""
    protocol = (
        os.environ.get("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    )
    kwargs: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as Grpc

        return Grpc(**kwargs)
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as Http

    return Http(**kwargs)


def send(data: Any, metric_exporter: Any) -> bool:
    from opentelemetry.sdk.metrics.export import MetricExportResult

    return bool(metric_exporter.export(data) is MetricExportResult.SUCCESS)
