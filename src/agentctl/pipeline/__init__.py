"""Pipelines: the end-to-end flows behind each command (collect → evaluate → report data)."""
