"""An OTLP/HTTP receiver test double that keeps the raw protobuf it was sent.

``POST /v1/traces`` and ``POST /v1/metrics`` (``application/x-protobuf``) are
decoded with the OpenTelemetry proto classes, so tests see attribute value
types exactly as they went over the wire (``int_value`` vs ``string_value``).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _value(value: Any) -> tuple[str, Any]:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return "array", [_value(v) for v in value.array_value.values]
    return kind, getattr(value, kind)


def attributes(items: Any) -> dict[str, tuple[str, Any]]:
    return {a.key: _value(a.value) for a in items}


class OTLPReceiver:
    def __init__(self) -> None:
        self.traces: list[bytes] = []
        self.metrics: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.endswith("/v1/traces"):
                    receiver.traces.append(body)
                elif self.path.endswith("/v1/metrics"):
                    receiver.metrics.append(body)
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> OTLPReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def spans(self) -> list[dict[str, Any]]:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        out = []
        for raw in self.traces:
            request = ExportTraceServiceRequest.FromString(raw)
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    for span in scope.spans:
                        out.append(
                            {
                                "name": span.name,
                                "span_id": span.span_id.hex(),
                                "parent_id": span.parent_span_id.hex() or None,
                                "start": span.start_time_unix_nano / 1e9,
                                "end": span.end_time_unix_nano / 1e9,
                                "attributes": attributes(span.attributes),
                                "status": span.status.code,
                                "events": [event.name for event in span.events],
                            }
                        )
        return out

    def metric_points(self) -> dict[str, list[dict[str, Any]]]:
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

        out: dict[str, list[dict[str, Any]]] = {}
        for raw in self.metrics:
            request = ExportMetricsServiceRequest.FromString(raw)
            for resource in request.resource_metrics:
                for scope in resource.scope_metrics:
                    for metric in scope.metrics:
                        for point in metric.histogram.data_points:
                            out.setdefault(metric.name, []).append(
                                {
                                    "unit": metric.unit,
                                    "attributes": attributes(point.attributes),
                                    "count": point.count,
                                    "sum": point.sum,
                                }
                            )
        return out
