"""The execution gateway, live: the real Claude Code and Codex CLIs call ``agentctl gate``
before each tool use, and policy decides before anything runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.agents.conftest import AgentHarness
from tests.conftest import agentctl_binary

GPU_TF = 'resource "aws_instance" "trainer" {\n  ami           = "ami-123"\n  instance_type = "p4d.24xlarge"\n}\n'
CPU_TF = 'resource "aws_instance" "web" {\n  ami           = "ami-123"\n  instance_type = "m6i.large"\n}\n'


def patch_add(path: str, text: str) -> str:
    return (
        f"*** Begin Patch\n*** Add File: {path}\n"
        + "".join(f"+{line}\n" for line in text.splitlines())
        + "*** End Patch\n"
    )


def gate_events(harness: AgentHarness, run_id: str) -> list[dict]:
    return [e for e in harness.show(run_id)["events"] if e["kind"] == "gate"]


def write_call(agent: str, root, rel: str, text: str) -> dict:  # type: ignore[no-untyped-def]
    if agent == "claude":
        return {"tool": "Write", "input": {"file_path": str(root / rel), "content": text}}
    return {"tool": "apply_patch", "input": patch_add(rel, text)}


def shell_call(agent: str, command: str) -> dict:
    if agent == "claude":
        return {"tool": "Bash", "input": {"command": command, "description": "run"}}
    return {"tool": "exec_command", "input": {"cmd": command}}


@pytest.mark.parametrize("agent", ["claude", "codex"])
def test_policy_decides_before_each_tool_call(harness: AgentHarness, server_factory, agent: str) -> None:
    root = harness.repo.root
    server = server_factory(
        [
            write_call(agent, root, "envs/dev/main.tf", GPU_TF),
            shell_call(agent, "terraform destroy -auto-approve"),
            write_call(agent, root, "policies/allow-all.yaml", "rules: []\n"),
            write_call(agent, root, "envs/dev/web.tf", CPU_TF),
            {"text": "done"},
        ]
    )
    result = harness.run(server, agent)
    assert result.code == 0, result.stderr
    assert not (root / "envs" / "dev" / "main.tf").exists()  # denied before it was written
    assert not (root / "policies").exists()
    assert (root / "envs" / "dev" / "web.tf").read_text() == CPU_TF  # allowed write went through

    decisions = gate_events(harness, result.summary["run_id"])
    denied = [d for d in decisions if d["data"]["decision"] == "deny"]
    rules = [[f["rule_id"] for f in d["data"]["findings"]] for d in denied]
    assert len(rules) == 3
    assert "gpu-instance-outside-production" in rules[0]  # hygiene rules (IMDSv2, EBS) may be named beside it
    assert rules[1:] == [["tool-terraform-apply-destroy"], ["tool-write-protected-path"]]
    assert "agentctl approve" in denied[0]["text"]  # require_approval names the way out
    assert any(d["data"]["decision"] == "allow" for d in decisions)

    # the agent was told why: the denial reason reached the model in the next request
    bodies = json.dumps([r["body"] for r in server.main_loop_requests()])
    assert "gpu-instance-outside-production" in bodies and "tool-terraform-apply-destroy" in bodies

    tree = harness.agentctl("runs", "show", result.summary["run_id"]).stdout
    assert "gate deny" in tree and "tool-write-protected-path" in tree


def test_claude_users_own_settings_and_hooks_are_kept(harness: AgentHarness, server_factory) -> None:
    marker = harness.tmp / "user-hook-ran"
    user_settings = harness.tmp / "my-settings.json"
    user_settings.write_text(
        json.dumps(
            {
                "hooks": {
                    "PreToolUse": [
                        {"matcher": "Bash", "hooks": [{"type": "command", "command": f"touch {marker}"}]},
                    ]
                }
            }
        )
    )
    server = server_factory([shell_call("claude", "terraform apply"), {"text": "done"}])
    process = subprocess.run(
        [
            agentctl_binary(),
            "run",
            "--json",
            "--",
            "claude",
            "-p",
            "go",
            "--allowedTools",
            "Bash",
            "--settings",
            str(user_settings),
        ],
        cwd=harness.repo.root,
        env=harness.env(server),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    assert marker.exists()  # the user's hook still ran
    assert json.loads(user_settings.read_text())["hooks"]["PreToolUse"][0]["matcher"] == "Bash"  # file untouched
    run_id = json.loads(process.stdout)["run_id"]
    [decision] = gate_events(harness, run_id)
    assert decision["data"]["decision"] == "deny"


def test_killed_gate_server_fails_closed(harness: AgentHarness, server_factory) -> None:
    root = harness.repo.root
    server = server_factory(
        [
            shell_call("claude", "echo first > first.txt"),
            {"hang": 4},
            shell_call("claude", "echo second > second.txt"),
            {"text": "done"},
        ]
    )
    process = harness.start(server, "claude", "--json")
    deadline = time.monotonic() + 60
    while len(server.main_loop_requests()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    servers = subprocess.run(["pgrep", "-f", "agentctl gate serve"], capture_output=True, text=True).stdout.split()
    mine = [pid for pid in servers if str(process.pid) in _parent_chain(int(pid))]
    assert mine, "gate server not found"
    for pid in mine:
        os.kill(int(pid), signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=120)
    assert (root / "first.txt").exists()
    assert not (root / "second.txt").exists()  # denied: the gate was gone
    assert process.returncode == 4, stderr
    summary = json.loads(stdout)
    assert summary["status"] == "gate_failed"
    events = harness.show(summary["run_id"])["events"]
    assert any(e["kind"] == "error" and "gate server stopped" in e.get("text", "") for e in events)
    results = [e for e in events if e["kind"] == "tool_end"]
    assert results[-1].get("ok") is False and "fail closed" in results[-1]["tool_output"]


def _parent_chain(pid: int) -> str:
    chain = []
    while pid > 1:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                stat = handle.read()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        chain.append(str(pid))
    return " ".join(chain)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("this is not json", "not valid JSON"),
        ('{"tool_input": {"command": "ls"}}', "malformed hook payload"),
        ('{"tool_name": "Write", "tool_input": {"content": "x"}}', "without a file_path"),
    ],
)
def test_malformed_hook_payload_is_denied_with_a_reason(harness: AgentHarness, payload: str, expected: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "agentctl", "gate", "--agent", "claude"],
        input=payload,
        cwd=harness.repo.root,
        capture_output=True,
        text=True,
        timeout=60,
        env={**{k: v for k, v in os.environ.items() if k != "AGENTCTL_GATE_SOCKET"}, "AGENTCTL_GATE_SERVER": "off"},
    )
    assert proc.returncode == 0
    decision = json.loads(proc.stdout)["hookSpecificOutput"]
    assert decision["permissionDecision"] == "deny"
    assert expected in decision["permissionDecisionReason"]


def test_unreachable_gate_server_denies(harness: AgentHarness) -> None:
    payload = json.dumps({"tool_name": "Bash", "tool_input": {"command": "ls"}, "cwd": str(harness.repo.root)})
    proc = subprocess.run(
        [sys.executable, "-m", "agentctl", "gate"],
        input=payload,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "AGENTCTL_GATE_SOCKET": str(harness.tmp / "no-such.sock")},
    )
    decision = json.loads(proc.stdout)["hookSpecificOutput"]
    assert decision["permissionDecision"] == "deny"
    assert (
        "unreachable" in decision["permissionDecisionReason"] and "fail closed" in decision["permissionDecisionReason"]
    )


def test_standalone_gate_uses_the_repository_policies(harness: AgentHarness) -> None:
    allowed = json.dumps({"tool_name": "Bash", "tool_input": {"command": "ls -la"}, "cwd": str(harness.repo.root)})
    denied = json.dumps(
        {"tool_name": "Bash", "tool_input": {"command": "helm uninstall api"}, "cwd": str(harness.repo.root)}
    )
    env = {**{k: v for k, v in os.environ.items() if k != "AGENTCTL_GATE_SOCKET"}, "AGENTCTL_GATE_SERVER": "off"}
    ok = subprocess.run(
        [agentctl_binary(), "gate"], input=allowed, cwd=harness.repo.root, capture_output=True, text=True, env=env
    )
    assert ok.returncode == 0 and ok.stdout == ""  # no opinion: the agent's own permissions apply
    no = subprocess.run(
        [agentctl_binary(), "gate"], input=denied, cwd=harness.repo.root, capture_output=True, text=True, env=env
    )
    assert json.loads(no.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "tool-helm-uninstall" in no.stdout


def run_on_a_terminal(harness: AgentHarness, server, answer: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """agentctl run on a real pseudo-terminal; answers the approval prompt like a person would."""
    import pty
    import select

    env = {**harness.env(server), "TERM": "dumb"}
    argv = [agentctl_binary(), "run", "--json", "--", *harness.command("claude", "go")]
    pid, fd = pty.fork()
    if pid == 0:  # the child: a session whose controlling terminal is the pty
        os.chdir(harness.repo.root)
        os.execve(argv[0], argv, env)
    output, answered = b"", False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
            if not answered and b"Allow this call?" in output:
                os.write(fd, answer.encode() + b"\n")
                answered = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


@pytest.mark.parametrize(("answer", "allowed"), [("y", True), ("n", False)])
def test_require_approval_is_asked_on_a_terminal(
    harness: AgentHarness, server_factory, answer: str, allowed: bool
) -> None:
    target = harness.repo.root / "envs" / "dev" / "main.tf"
    server = server_factory([write_call("claude", harness.repo.root, "envs/dev/main.tf", GPU_TF), {"text": "done"}])
    code, output = run_on_a_terminal(harness, server, answer)
    assert "gpu-instance-outside-production" in output and "Allow this call?" in output, output[-3000:]
    assert target.exists() is allowed
    listed = json.loads(harness.agentctl("runs", "list", "--json").stdout)
    [decision] = gate_events(harness, listed[0]["run_id"])
    assert decision["data"]["decision"] == ("allow" if allowed else "deny")
    if allowed:
        assert decision["data"]["approver"]  # who approved, from git/CI identity
        assert code == 0  # the post-run finding was approved by the person at the gate
        verdict = harness.agentctl("runs", "verdict", listed[0]["run_id"])
        assert verdict.returncode == 0 and "approved by" in verdict.stdout
    else:
        assert code == 0  # nothing was written: the post-run check is clean


# ---------------------------------------------------------------- IaC previews with the real CLIs

TF_JSON_GPU = json.dumps(
    {"resource": {"aws_instance": {"trainer": {"ami": "ami-123", "instance_type": "p4d.24xlarge"}}}}, indent=2
)


@pytest.mark.parametrize("agent", ["claude", "codex"])
def test_tf_json_gpu_write_is_denied(harness: AgentHarness, server_factory, agent: str) -> None:
    root = harness.repo.root
    server = server_factory([write_call(agent, root, "envs/dev/gpu.tf.json", TF_JSON_GPU + "\n"), {"text": "done"}])
    result = harness.run(server, agent)
    assert not (root / "envs" / "dev" / "gpu.tf.json").exists(), result.stderr  # denied before it was written
    [decision] = gate_events(harness, result.summary["run_id"])
    assert decision["data"]["decision"] == "deny"
    assert "gpu.tf.json" in decision["text"] or "gpu-instance-outside-production" in decision["text"]


def test_claude_edit_with_curly_quotes_is_judged_on_the_real_content(harness: AgentHarness, server_factory) -> None:
    root = harness.repo.root
    harness.repo.write("envs/dev/web.tf", CPU_TF)
    harness.repo.commit("web")
    target = str(root / "envs" / "dev" / "web.tf")
    curly = "instance_type = \u201cm6i.large\u201d"
    server = server_factory(
        [
            {"tool": "Read", "input": {"file_path": target}},
            {
                "tool": "Edit",
                "input": {"file_path": target, "old_string": curly, "new_string": 'instance_type = "g5.12xlarge"'},
            },
            {
                "tool": "Edit",
                "input": {"file_path": target, "old_string": curly, "new_string": 'instance_type = "m6i.xlarge"'},
            },
            {"text": "done"},
        ]
    )
    result = harness.run(server, "claude")
    assert result.code == 0, result.stderr
    # Claude matched the curly old_string against the straight quotes: the CPU edit landed, the GPU one did not
    assert (root / "envs" / "dev" / "web.tf").read_text() == CPU_TF.replace("m6i.large", "m6i.xlarge")
    decisions = [d for d in gate_events(harness, result.summary["run_id"]) if d.get("tool_name") == "Edit"]
    assert [d["data"]["decision"] for d in decisions] == ["deny", "allow"]
    assert [f["rule_id"] for f in decisions[0]["data"]["findings"]] == ["gpu-instance-outside-production"]


def test_codex_patch_with_an_anchor_is_judged(harness: AgentHarness, server_factory) -> None:
    root = harness.repo.root
    harness.repo.write("envs/dev/main.tf", CPU_TF + "\n" + CPU_TF.replace('"web"', '"worker"'))
    harness.repo.commit("two instances")
    patch = (
        "*** Begin Patch\n*** Update File: envs/dev/main.tf\n"
        '@@ resource "aws_instance" "worker" {\n'
        '   ami           = "ami-123"\n-  instance_type = "m6i.large"\n+  instance_type = "p5.48xlarge"\n'
        "*** End Patch\n"
    )
    fine = patch.replace("p5.48xlarge", "m6i.2xlarge")
    server = server_factory(
        [{"tool": "apply_patch", "input": patch}, {"tool": "apply_patch", "input": fine}, {"text": "done"}]
    )
    result = harness.run(server, "codex")
    assert result.code == 0, result.stderr
    text = (root / "envs" / "dev" / "main.tf").read_text()
    assert "p5.48xlarge" not in text and text.count("m6i.2xlarge") == 1
    assert text.index("m6i.2xlarge") > text.index('"worker"')  # the anchor picked the second block
    decisions = gate_events(harness, result.summary["run_id"])
    assert [d["data"]["decision"] for d in decisions] == ["deny", "allow"]
    assert "aws_instance.worker" in decisions[0]["text"]


# ---------------------------------------------------------------- §8: why the Claude hook is a command hook


def _hook_endpoint(mode: str):  # type: ignore[no-untyped-def]
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            if mode == "slow":
                time.sleep(6)
            self.send_response(500 if mode == "error" else 200)
            self.end_headers()
            self.wfile.write(b"not a decision")

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("mode", ["unreachable", "error", "slow"])
def test_claude_http_hooks_fail_open_so_agentctl_keeps_a_command_hook(
    harness: AgentHarness, server_factory, mode: str
) -> None:
    """Evidence for docs/decisions.md: Claude Code runs the tool when an HTTP hook is
    unreachable, answers 500 or times out. If this test starts failing, Claude Code
    has made HTTP hooks fail closed and the faster HTTP hook can be reconsidered."""
    endpoint = None if mode == "unreachable" else _hook_endpoint(mode)
    port = endpoint.server_address[1] if endpoint else 9  # port 9 (discard): nothing listens
    settings = harness.tmp / "http-hook.json"
    settings.write_text(
        json.dumps(
            {
                "allowedHttpHookUrls": ["http://127.0.0.1:*"],
                "hooks": {
                    "PreToolUse": [
                        {
                            "matcher": "*",
                            "hooks": [{"type": "http", "url": f"http://127.0.0.1:{port}/gate", "timeout": 2}],
                        }
                    ]
                },
            }
        )
    )
    marker = harness.repo.root / "ran.txt"
    server = server_factory([shell_call("claude", f"echo ran > {marker}"), {"text": "done"}])
    try:
        proc = subprocess.run(
            [*harness.command("claude", "go"), "--settings", str(settings)],
            cwd=harness.repo.root,
            env=harness.env(server),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        if endpoint is not None:
            endpoint.shutdown()
    assert proc.returncode == 0, proc.stderr
    assert marker.exists()  # the tool ran although the hook never decided: HTTP hooks fail open

    from agentctl.agents.claude import ClaudeAdapter

    wired = ClaudeAdapter().gate(["claude", "-p", "x"], "HOOK", harness.tmp)
    ours = json.loads(Path(wired[-1]).read_text())["hooks"]["PreToolUse"][-1]["hooks"]
    assert [h["type"] for h in ours] == ["command"]  # so agentctl wires a command hook
