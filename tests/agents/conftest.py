"""Fixtures for end-to-end runs of the real Claude Code and Codex CLIs.

The CLIs come from ``tests/agents/node_modules`` (``npm ci --prefix tests/agents``,
pinned in package-lock.json). They talk to the scripted model server on
127.0.0.1; nothing leaves the machine. Without the CLIs these tests skip
locally and fail in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GitRepo, agentctl_binary
from tests.support.model_server import ModelServer

BIN = Path(__file__).resolve().parent / "node_modules" / ".bin"


def agent_binary(name: str) -> str:
    path = BIN / name
    if not path.exists():
        message = f"{path} missing: run `npm ci --prefix tests/agents`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return str(path)


@dataclass
class AgentHarness:
    repo: GitRepo
    home: Path
    tmp: Path

    def env(self, server: ModelServer, **extra: str) -> dict[str, str]:
        codex_home = self.tmp / f"codex-home-{id(server)}"
        codex_home.mkdir(exist_ok=True)
        (codex_home / "config.toml").write_text(
            'model = "gpt-5.5"\nmodel_provider = "scripted"\n\n[model_providers.scripted]\nname = "scripted"\n'
            f'base_url = "{server.url}/v1"\nwire_api = "responses"\nenv_key = "OPENAI_API_KEY"\n'
        )
        return {
            **os.environ,
            "PATH": f"{BIN}:{os.environ['PATH']}",
            "HOME": str(self.home),
            "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "sk-ant-api03-test-key-not-a-real-secret-0000",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
            "CODEX_HOME": str(codex_home),
            "OPENAI_API_KEY": "sk-test-key-not-a-real-secret-000000000",
            "NO_COLOR": "1",
            **extra,
        }

    def command(self, agent: str, prompt: str) -> list[str]:
        if agent == "claude":
            agent_binary("claude")
            return ["claude", "-p", prompt, "--allowedTools", "Write,Edit,Bash,Read"]
        agent_binary("codex")
        return ["codex", "exec", "--sandbox", "danger-full-access", prompt]

    def start(
        self, server: ModelServer, agent: str, *options: str, prompt: str = "do the task"
    ) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [agentctl_binary(), "run", *options, "--", *self.command(agent, prompt)],
            cwd=self.repo.root,
            env=self.env(server),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(
        self, server: ModelServer, agent: str, *options: str, timeout: float = 120, prompt: str = "do the task"
    ) -> RunResult:
        process = self.start(server, agent, "--json", *options, prompt=prompt)
        stdout, stderr = process.communicate(timeout=timeout)
        summary = json.loads(stdout) if stdout.strip().startswith("{") else {}
        return RunResult(process.returncode, summary, stdout, stderr)

    def agentctl(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [agentctl_binary(), *args],
            cwd=self.repo.root,
            env=env or os.environ,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def show(self, run_id: str) -> dict[str, Any]:
        proc = self.agentctl("runs", "show", run_id, "--json")
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)


@dataclass
class RunResult:
    code: int
    summary: dict[str, Any]
    stdout: str
    stderr: str


@pytest.fixture
def harness(repo: GitRepo, tmp_path: Path) -> Iterator[AgentHarness]:
    repo.write("README.md", "# infra\n")
    repo.write(".gitignore", ".agentctl/\n")
    repo.commit("init")
    home = tmp_path / "home"
    home.mkdir()
    yield AgentHarness(repo, home, tmp_path)


@pytest.fixture
def server_factory() -> Iterator[Callable[[list[dict[str, Any]]], ModelServer]]:
    servers: list[ModelServer] = []

    def make(steps: list[dict[str, Any]]) -> ModelServer:
        server = ModelServer(steps).__enter__()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.__exit__(None, None, None)
