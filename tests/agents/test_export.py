"""OTLP export against a real receiver: Arize Phoenix on 127.0.0.1 (HTTP and gRPC).

Runs of the real Claude Code and Codex CLIs are exported as GenAI traces; the
spans Phoenix received are read back from its REST API.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agents.conftest import AgentHarness
from tests.conftest import agentctl_binary
from tests.support.phoenix import Phoenix, free_port
from tests.support.phoenix import start as start_phoenix


@pytest.fixture(scope="session")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phoenix]:
    try:
        process, server = start_phoenix(tmp_path_factory.mktemp("phoenix"))
    except FileNotFoundError as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield server
    process.terminate()
    process.wait(timeout=30)


def otel_env(endpoint: str, project: str, **extra: str) -> dict[str, str]:
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_RESOURCE_ATTRIBUTES": f"openinference.project.name={project}",
        "OTEL_SERVICE_NAME": "agentctl-tests",
        **extra,
    }


def run(
    harness: AgentHarness, server, agent: str, extra_env: dict[str, str], *options: str, prompt: str = "go"
) -> dict:  # type: ignore[no-untyped-def]
    proc = subprocess.run(
        [agentctl_binary(), "run", "--json", *options, "--", *harness.command(agent, prompt)],
        cwd=harness.repo.root,
        env={**harness.env(server), **extra_env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.stdout.strip(), proc.stderr
    summary = json.loads(proc.stdout)
    summary["_code"] = proc.returncode
    summary["_stderr"] = proc.stderr
    return summary


def by_name(spans: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for span in spans:
        out.setdefault(span["name"], []).append(span)
    return out


def test_claude_run_becomes_a_genai_trace_over_http(harness: AgentHarness, server_factory, phoenix: Phoenix) -> None:
    project = f"claude-{uuid.uuid4().hex[:8]}"
    root = harness.repo.root
    server = server_factory(
        [
            {"tool": "Bash", "input": {"command": "ls", "description": "list"}},
            {
                "tool": "Write",
                "input": {
                    "file_path": str(root / "envs/dev/gpu.tf"),
                    "content": 'resource "aws_instance" "g" {\n  instance_type = "p4d.24xlarge"\n}\n',
                },
            },
            {
                "tool": "Write",
                "input": {
                    "file_path": str(root / "k8s/pod.yaml"),
                    "content": (
                        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"
                        "spec:\n  containers:\n    - name: web\n      image: nginx:latest\n"
                    ),
                },
            },
            {"text": "done"},
        ]
    )
    summary = run(harness, server, "claude", otel_env(phoenix.http, project))
    # the pod's warnings (unpinned image…) are allowed by the gate and reported after the run
    assert summary["_code"] == 0, summary["_stderr"]
    spans = phoenix.spans(project, expected=1 + 4 + 2)
    names = by_name(spans)
    [root_span] = names["invoke_agent claude"]
    attrs = root_span["attributes"]
    assert attrs["gen_ai.operation.name"] == "invoke_agent"
    assert attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["gen_ai.conversation.id"] == summary["session_id"]
    assert attrs["gen_ai.request.model"] == "claude-opus-5-5"
    assert attrs["gen_ai.usage.input_tokens"] == summary["usage"]["input_tokens"]
    assert attrs["agentctl.cost.usd"] == pytest.approx(summary["cost_usd"])
    assert attrs["agentctl.run.status"] == "completed"
    assert attrs["agentctl.sandbox"] == "bwrap"  # the agent ran sandboxed (default)
    assert root_span["parent_id"] is None

    chats = names["chat claude-opus-5-5"]
    tools = names["execute_tool Bash"] + names["execute_tool Write"]
    assert len(chats) == 4 and len(tools) == 3
    root_id = root_span["context"]["span_id"]
    assert {s["parent_id"] for s in chats + tools} == {root_id}
    assert {s["context"]["trace_id"] for s in spans} == {root_span["context"]["trace_id"]}
    for tool in tools:
        assert tool["attributes"]["gen_ai.tool.call.id"].startswith("toolu_")
        assert tool["attributes"]["gen_ai.tool.type"] == "function"
        assert "gen_ai.tool.call.arguments" not in tool["attributes"]  # content is opt-in
    # real times from the agent's events, not export time
    assert root_span["start_time"] <= min(s["start_time"] for s in chats)
    assert "agentctl.finding" in {e["name"] for e in root_span["events"]}
    # the denied GPU write: proposed, judged, never run; the decision is an event on its span
    [denied] = [t for t in tools if t["status_code"] == "ERROR"]
    gate = next(e for e in denied["events"] if e["name"] == "agentctl.gate.decision")
    assert gate["attributes"]["agentctl.gate.decision"] == "deny"
    assert "gpu-instance-outside-production" in gate["attributes"]["agentctl.gate.rules"]
    assert not (root / "envs/dev/gpu.tf").exists()


def test_codex_run_over_grpc(harness: AgentHarness, server_factory, phoenix: Phoenix) -> None:
    project = f"codex-{uuid.uuid4().hex[:8]}"
    server = server_factory([{"tool": "exec_command", "input": {"cmd": "echo hi"}}, {"text": "done"}])
    summary = run(harness, server, "codex", otel_env(phoenix.grpc, project, OTEL_EXPORTER_OTLP_PROTOCOL="grpc"))
    assert summary["_code"] == 0, summary["_stderr"]
    spans = phoenix.spans(project, expected=4)
    names = by_name(spans)
    [root_span] = names["invoke_agent codex"]
    assert root_span["attributes"]["gen_ai.provider.name"] == "openai"
    assert root_span["attributes"]["gen_ai.conversation.id"] == summary["session_id"]
    assert root_span["attributes"]["gen_ai.usage.output_tokens"] > 0
    assert len(names["execute_tool exec_command"]) == 1


def test_collector_down_then_export_pending_delivers_each_span_once(
    harness: AgentHarness, server_factory, phoenix: Phoenix
) -> None:
    project = f"pending-{uuid.uuid4().hex[:8]}"
    dead = f"http://127.0.0.1:{free_port()}"
    server = server_factory(
        [{"tool": "Bash", "input": {"command": f"echo {i}"}} for i in range(3)] + [{"text": "done"}]
    )
    started = time.monotonic()
    summary = run(harness, server, "claude", otel_env(dead, project))
    assert summary["_code"] == 0, summary["_stderr"]
    assert time.monotonic() - started < 30  # a dead collector does not hold the run up
    listed = json.loads(harness.agentctl("runs", "list", "--json").stdout)
    record = next(r for r in listed if r["run_id"] == summary["run_id"])
    assert record["status"] == "completed"

    env = {**os.environ, **otel_env(phoenix.http, project)}
    first = harness.agentctl("export", "--pending", env=env)
    assert first.returncode == 0, first.stderr
    assert summary["run_id"] in first.stderr and "delivered" in first.stderr
    again = harness.agentctl("export", "--pending", env=env)
    assert again.returncode == 0 and "nothing pending" in again.stderr

    spans = phoenix.spans(project, expected=1 + 4 + 3)
    ids = [s["context"]["span_id"] for s in spans]
    assert len(ids) == len(set(ids)) == 8  # every span, exactly once


def test_export_to_a_dead_collector_is_an_error_and_keeps_runs_pending(harness: AgentHarness, server_factory) -> None:
    server = server_factory([{"text": "done"}])
    summary = run(harness, server, "claude", {})
    assert summary["_code"] == 0
    env = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "2",
    }
    proc = harness.agentctl("export", summary["run_id"], env=env)
    assert proc.returncode == 2
    assert "not delivered" in proc.stderr and "hint:" in proc.stderr and "Traceback" not in proc.stderr


def test_traceparent_joins_the_ci_trace_and_reaches_the_agent(
    harness: AgentHarness, server_factory, phoenix: Phoenix
) -> None:
    project = f"tp-{uuid.uuid4().hex[:8]}"
    ci_trace, ci_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    server = server_factory([{"tool": "Bash", "input": {"command": "echo $TRACEPARENT > tp.txt"}}, {"text": "done"}])
    summary = run(harness, server, "claude", otel_env(phoenix.http, project, TRACEPARENT=f"00-{ci_trace}-{ci_span}-01"))
    assert summary["_code"] == 0, summary["_stderr"]
    [root_span] = by_name(phoenix.spans(project, expected=4))["invoke_agent claude"]
    assert root_span["context"]["trace_id"] == ci_trace
    assert root_span["parent_id"] == ci_span
    handed = (harness.repo.root / "tp.txt").read_text().strip()
    assert handed == f"00-{ci_trace}-{root_span['context']['span_id']}-01"


def test_no_planted_secret_reaches_the_collector(harness: AgentHarness, server_factory, phoenix: Phoenix) -> None:
    from tests.test_redact import CONTEXTUAL, SECRET_PARTS, SECRETS

    project = f"secrets-{uuid.uuid4().hex[:8]}"
    planted = list(SECRETS.values())
    secrets_file = harness.repo.root / "notes.txt"
    secrets_file.write_text("\n".join([*planted, *CONTEXTUAL.values()]) + "\n")
    server = server_factory(
        [
            {"tool": "Bash", "input": {"command": f"echo {SECRETS['github-pat']} && cat notes.txt"}},
            {
                "tool": "Bash",
                "input": {"command": f"curl -H 'Authorization: Bearer {'i' * 40}' https://example.invalid"},
            },
            {"text": f"done, the key was {SECRETS['aws-access-key']}"},
        ]
    )
    summary = run(
        harness,
        server,
        "claude",
        otel_env(phoenix.http, project, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="true"),
        "--no-gate",
        prompt=f"use {SECRETS['openai']} and {SECRETS['slack-bot']}",
    )
    assert summary["_code"] == 0, summary["_stderr"]
    spans = phoenix.spans(project, expected=6)
    sent = json.dumps(spans)
    assert "gen_ai.tool.call.result" in sent  # content was captured (and redacted)
    store = harness.repo.root / ".agentctl" / "agentctl.db"
    stored = store.read_bytes() + (Path(f"{store}-wal").read_bytes() if Path(f"{store}-wal").exists() else b"")
    for secret in [*planted, *SECRET_PARTS.values()]:
        assert secret not in sent, secret
        assert secret.encode() not in stored, secret
    assert secret_free(summary["_stderr"], planted)


def secret_free(text: str, secrets: list[str]) -> bool:
    return not any(s in text for s in secrets)
