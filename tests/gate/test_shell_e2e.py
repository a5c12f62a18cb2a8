"""End to end with the real Claude Code: shell commands hidden behind ``bash -c`` or an
earlier local context are judged by what they would run, and never run.

Fake ``terraform`` and ``kubectl`` on the agent's PATH record every invocation;
an allowed ``kubectl --context kind-dev get pods`` proves they are the ones the
agent would reach.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.agents.conftest import AgentHarness, harness, server_factory  # noqa: F401 (fixtures)
from tests.conftest import agentctl_binary

pytestmark = pytest.mark.agents


def bash(command: str) -> dict[str, object]:
    return {"tool": "Bash", "input": {"command": command, "description": "run"}}


def test_hidden_terraform_apply_and_kubectl_delete_never_run(harness: AgentHarness, server_factory) -> None:  # noqa: F811
    fake_bin = harness.tmp / "fake-bin"
    fake_bin.mkdir()
    marker = harness.tmp / "invocations.log"
    for tool in ("terraform", "kubectl"):
        script = fake_bin / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> {marker}\n')
        script.chmod(0o755)
    server = server_factory(
        [
            bash("bash -c 'terraform apply -auto-approve'"),
            bash("kubectl --context kind-dev --context prod delete namespace payments"),
            bash("kubectl --context kind-dev get pods"),
            {"text": "done"},
        ]
    )
    env = harness.env(server)
    env["PATH"] = f"{fake_bin}:{env['PATH']}"
    proc = subprocess.run(
        [agentctl_binary(), "run", "--json", "--", *harness.command("claude", "go")],
        cwd=harness.repo.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    assert marker.read_text().splitlines() == ["kubectl --context kind-dev get pods"]  # only the allowed call ran

    run_id = json.loads(proc.stdout)["run_id"]
    gates = [e["data"] for e in harness.show(run_id)["events"] if e["kind"] == "gate"]
    assert [g["decision"] for g in gates] == ["deny", "deny", "allow"]
    assert [f["rule_id"] for f in gates[0]["findings"]] == ["tool-terraform-apply-destroy"]
    assert [f["rule_id"] for f in gates[1]["findings"]] == ["tool-kubectl-mutation-non-local"]
    bodies = json.dumps([r["body"] for r in server.main_loop_requests()])
    assert "tool-terraform-apply-destroy" in bodies and "tool-kubectl-mutation-non-local" in bodies  # agent told why
