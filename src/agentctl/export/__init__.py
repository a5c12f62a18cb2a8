"""Exporting recorded runs: OpenTelemetry traces over OTLP."""
