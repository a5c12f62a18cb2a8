"""``agentctl gate`` in a user's own hook settings: a deadline, a reused per-repository server, fail closed.

Drives the installed binary exactly as an agent's command hook does.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import agentctl_binary

CPU = '  instance_type = "m6i.large"\n'
GPU = '  instance_type = "p4d.24xlarge"\n'


def block(i: int, body: str = CPU) -> str:
    return (
        f'resource "aws_instance" "web{i}" {{\n  ami = "ami-1"\n{body}  tags = {{\n    Name = "web-{i}"\n  }}\n}}\n\n'
    )


@pytest.fixture
def runtime() -> Iterator[Path]:
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="agx-"))  # short: Unix socket paths are limited
    yield folder
    for pid in _servers(folder):  # only the servers these tests started, by pid
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    shutil.rmtree(folder, ignore_errors=True)


def _servers(folder: Path) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "gate serve --standalone" in cmdline and str(folder) in cmdline:
            out.append(int(entry.name))
    return out


@pytest.fixture
def root(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "envs" / "dev").mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    return repo


def gate(
    root: Path, runtime: Path, payload: dict[str, Any], *args: str, **env: str
) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    full = {**payload, "cwd": str(root), "hook_event_name": "PreToolUse", "session_id": "s"}
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AGENTCTL_GATE")}
    environment.update({"XDG_RUNTIME_DIR": str(runtime), "AGENTCTL_GATE_IDLE": "20", **env})
    proc = subprocess.run(
        [agentctl_binary(), "gate", *args],
        input=json.dumps(full),
        cwd=root,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return (json.loads(proc.stdout)["hookSpecificOutput"] if proc.stdout.strip() else {}), proc


def shell(command: str) -> dict[str, Any]:
    return {"tool_name": "Bash", "tool_input": {"command": command}}


def wait_for(predicate: Any, seconds: float = 60) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_server_is_started_on_first_use_and_reused(root: Path, runtime: Path) -> None:
    first, _ = gate(root, runtime, shell("helm uninstall api"))
    assert first["permissionDecision"] == "deny" and "tool-helm-uninstall" in first["permissionDecisionReason"]
    sockets = runtime / "agentctl-gate"
    assert wait_for(lambda: list(sockets.glob("*.sock")))
    assert oct(sockets.stat().st_mode & 0o777) == "0o700"
    [sock] = list(sockets.glob("*.sock"))
    assert oct(sock.stat().st_mode & 0o777) == "0o600"
    [server] = _servers(runtime)
    for _ in range(3):
        again, _ = gate(root, runtime, shell("helm uninstall api"))
        assert again["permissionDecision"] == "deny"
        allowed, _ = gate(root, runtime, shell("ls -la"))
        assert allowed == {}
    assert _servers(runtime) == [server]  # the same server answered


def test_a_policy_change_is_in_force_at_the_next_call(root: Path, runtime: Path) -> None:
    assert gate(root, runtime, shell("echo hello"))[0] == {}
    assert wait_for(lambda: len(_servers(runtime)) == 1)
    (root / "policies").mkdir()
    (root / "policies" / "no-echo.yaml").write_text(
        "apiVersion: agentctl/v1\nkind: PolicySet\nmetadata:\n  name: local\nrules:\n"
        "  - id: no-echo\n    title: no echo\n    severity: high\n    action: deny\n    target: tool\n"
        "    condition: tool.command.startsWith('echo')\n    message: no echo here\n"
    )
    denied, _ = gate(root, runtime, shell("echo hello"))
    assert denied["permissionDecision"] == "deny" and "no-echo" in denied["permissionDecisionReason"]
    assert wait_for(lambda: len(list((runtime / "agentctl-gate").glob("*.sock"))) >= 1)
    denied_again, _ = gate(root, runtime, shell("echo hello"))
    assert denied_again["permissionDecision"] == "deny"
    # the server of the old policies notices and exits
    assert wait_for(lambda: len(_servers(runtime)) == 1, 60)


def test_a_dead_server_leaves_a_stale_socket_and_calls_still_get_decisions(root: Path, runtime: Path) -> None:
    gate(root, runtime, shell("ls"))
    assert wait_for(lambda: len(_servers(runtime)) == 1)
    [server] = _servers(runtime)
    os.kill(server, signal.SIGKILL)
    assert wait_for(lambda: not _servers(runtime))
    denied, _ = gate(root, runtime, shell("terraform destroy -auto-approve"))
    assert denied["permissionDecision"] == "deny"
    assert wait_for(lambda: len(_servers(runtime)) == 1)  # and a new one was started


def test_an_unsafe_socket_directory_is_not_used(root: Path, runtime: Path) -> None:
    (runtime / "agentctl-gate").mkdir(mode=0o777)
    os.chmod(runtime / "agentctl-gate", 0o777)  # someone else could plant a socket here
    denied, _ = gate(root, runtime, shell("helm uninstall api"))
    assert denied["permissionDecision"] == "deny"
    assert not list((runtime / "agentctl-gate").iterdir()) and not _servers(runtime)


def test_what_cannot_be_decided_within_the_deadline_is_denied(root: Path, runtime: Path) -> None:
    huge = "".join(block(i, GPU if i == 5 else CPU) for i in range(8500))  # ~1 MB, new: parsed whole
    payload = {"tool_name": "Write", "tool_input": {"file_path": str(root / "envs/dev/new.tf"), "content": huge}}
    started = time.monotonic()
    answer, _ = gate(root, runtime, payload, "--deadline", "1", AGENTCTL_GATE_SERVER="off")
    assert answer["permissionDecision"] == "deny"
    assert "deadline" in answer["permissionDecisionReason"] and "fail closed" in answer["permissionDecisionReason"]
    assert time.monotonic() - started < 60


def test_a_one_megabyte_file_edit_is_decided_on_its_merits(root: Path, runtime: Path) -> None:
    text = "".join(block(i) for i in range(8500))
    assert len(text) > 1_000_000
    target = root / "envs" / "dev" / "big.tf"
    target.write_text(text)
    old = 'resource "aws_instance" "web4321" {\n  ami = "ami-1"\n' + CPU
    payload = {
        "tool_name": "Edit",
        "tool_input": {"file_path": str(target), "old_string": old, "new_string": old.replace(CPU, GPU)},
    }
    answer, _ = gate(root, runtime, payload, AGENTCTL_GATE_SERVER="off")  # default deadline, in-process
    assert answer["permissionDecision"] == "deny"
    assert "gpu-instance-outside-production" in answer["permissionDecisionReason"], answer
    assert "aws_instance.web4321" in answer["permissionDecisionReason"]


def test_bad_deadline_falls_back_to_the_default(root: Path, runtime: Path) -> None:
    answer, _ = gate(
        root, runtime, shell("helm uninstall api"), AGENTCTL_GATE_DEADLINE="soon", AGENTCTL_GATE_SERVER="off"
    )
    assert answer["permissionDecision"] == "deny" and "tool-helm-uninstall" in answer["permissionDecisionReason"]
