"""The agent's own OpenTelemetry export, when it is on: one owner per span kind.

Claude Code (``CLAUDE_CODE_ENABLE_TELEMETRY``, traces with
``CLAUDE_CODE_ENHANCED_TELEMETRY_BETA`` + ``OTEL_TRACES_EXPORTER``) and Codex
(``[otel]`` in config.toml: ``exporter``, ``trace_exporter``,
``metrics_exporter``) can export telemetry of their own, and they join the
run's trace through ``TRACEPARENT``. agentctl owns the spans (``invoke_agent``,
``chat``, ``execute_tool``: it has the gate decisions and the gateway's exact
request windows), so for the run it turns the agent's *trace* exporter off; the
agent's metrics and log events keep flowing where the user sent them. The run
records what it found and did.
"""

from __future__ import annotations

from agentctl.gateway.wiring import codex_config, codex_overrides, toml_value


def _on(value: object) -> bool:
    return str(value or "").strip().strip('"').lower() not in ("", "0", "false", "no", "off", "none")


def claude(env: dict[str, str]) -> tuple[dict[str, str], str | None]:
    """Environment changes for Claude Code, and a note for the run record."""
    if not _on(env.get("CLAUDE_CODE_ENABLE_TELEMETRY")):
        return {}, None
    traces = _on(env.get("CLAUDE_CODE_ENHANCED_TELEMETRY_BETA")) and _on(env.get("OTEL_TRACES_EXPORTER"))
    if not traces:
        return {}, "Claude Code's own telemetry is on (metrics and events); agentctl owns the spans"
    return (
        {"OTEL_TRACES_EXPORTER": "none"},
        "Claude Code's own trace export was turned off for this run: agentctl owns the invoke_agent, chat and "
        "execute_tool spans; Claude Code's metrics and events still flow",
    )


def codex(argv: list[str], env: dict[str, str]) -> tuple[list[str], str | None]:
    """``-c`` overrides for Codex, and a note for the run record."""
    otel = codex_config(env).get("otel")
    settings: dict[str, object] = dict(otel) if isinstance(otel, dict) else {}
    for key, raw in codex_overrides(argv).items():
        if key.startswith("otel."):
            settings[key[5:]] = toml_value(raw)
    if not any(_on(settings.get(k)) for k in ("exporter", "trace_exporter", "metrics_exporter")):
        return [], None
    if not _on(settings.get("trace_exporter")):
        return [], "Codex's own telemetry is on ([otel] logs/metrics); agentctl owns the spans"
    return (
        ["-c", 'otel.trace_exporter="none"'],
        "Codex's own trace export ([otel] trace_exporter) was turned off for this run: agentctl owns the "
        "invoke_agent, chat and execute_tool spans; Codex's log events and metrics still flow",
    )


def apply(agent: str, command: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str], str | None]:
    if agent == "claude":
        changes, note = claude(env)
        return command, {**env, **changes}, note
    if agent == "codex":
        extra, note = codex(command, env)
        if extra:
            index = next((i for i, a in enumerate(command) if a in ("exec", "e")), 0)
            command = [*command[: index + 1], *extra, *command[index + 1 :]]
        return command, env, note
    return command, env, None
