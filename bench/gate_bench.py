"""Benchmark the gate's decision latency as the agent sees it, in one run.

    python bench/gate_bench.py [--calls 500] [--naive-calls 50] [--big-calls 20] [--standalone-calls 200]

For each call a hook process is started exactly as Claude Code / Codex start
it, the PreToolUse payload is written to its stdin, and the clock stops when
its decision has been read: process start to decision.

* claude / codex: the command hook ``agentctl run`` wires in (``python -S
  gate/client.py``) talking to the run's gate server; 500 calls of mixed shell
  commands and IaC writes (Write/Edit for Claude, apply_patch and an
  ``apply_patch`` heredoc through exec_command for Codex), half denied.
                                                  target: p95 <= 20 ms each
* 250 KB .tf: an edit of one block of a 250 KB Terraform file through the
  same hook and server.                           target: p95 <= 150 ms
* 250 KB .tf in module context: the same, in a realistic module: every
  resource reads ``var.``/``local.``/``module.`` values, the variables are in
  ``variables.tf``, their values in ``terraform.tfvars``, locals in
  ``locals.tf`` and a local child module gives outputs, so the gate judges the
  edit in the module's context (``gate/tfmodule.py``).  target: p95 <= 150 ms
* standalone: ``agentctl gate`` as wired into a user's own settings (no
  ``agentctl run``): the per-repository server it starts on first use
  (the first call is not counted).                target: p95 <= 100 ms
* floor: starting ``python -S -c pass``, the least any command hook costs
  on this machine right now (read the targets against it on a loaded machine).
* naive (the peer): the same command without any server, so every call
  imports agentctl, compiles the policies and judges in-process.
                                                  target: claude p95 <= 1/10 of naive p95
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import agentctl

GPU = '  instance_type = "p4d.24xlarge"\n'
CPU = '  instance_type = "m6i.large"\n'


def instance(name: str, body: str) -> str:
    return f'resource "aws_instance" "{name}" {{\n  ami = "ami-1"\n{body}}}\n'


def envelope(call: dict[str, object], root: Path, index: int) -> str:
    return json.dumps(
        {**call, "hook_event_name": "PreToolUse", "cwd": str(root), "session_id": "s", "tool_use_id": f"t{index}"}
    )


def patch_update(old: str, new: str) -> str:
    return f"*** Begin Patch\n*** Update File: envs/dev/main.tf\n@@\n-{old.rstrip()}\n+{new.rstrip()}\n*** End Patch\n"


def claude_payloads(root: Path) -> list[tuple[str, bool]]:
    """(payload, should deny): shell commands and IaC writes, half denied."""
    main = str(root / "envs/dev/main.tf")
    calls = [
        ({"tool_name": "Bash", "tool_input": {"command": "terraform plan -out tfplan"}}, False),
        ({"tool_name": "Write", "tool_input": {"file_path": main, "content": instance("t", GPU)}}, True),
        ({"tool_name": "Bash", "tool_input": {"command": "terraform destroy -auto-approve"}}, True),
        (
            {
                "tool_name": "Edit",
                "tool_input": {"file_path": main, "old_string": CPU, "new_string": CPU.replace("large", "xlarge")},
            },
            False,
        ),
        ({"tool_name": "Edit", "tool_input": {"file_path": main, "old_string": CPU, "new_string": GPU}}, True),
        ({"tool_name": "Bash", "tool_input": {"command": "git status --short"}}, False),
    ]
    return [(envelope(c, root, i), deny) for i, (c, deny) in enumerate(calls)]


def codex_payloads(root: Path) -> list[tuple[str, bool]]:
    heredoc = f"apply_patch <<'EOF'\n{patch_update(CPU, GPU)}EOF\n"
    calls = [
        ({"tool_name": "exec_command", "tool_input": {"cmd": "terraform plan -out tfplan"}}, False),
        ({"tool_name": "apply_patch", "tool_input": {"command": patch_update(CPU, GPU)}}, True),
        ({"tool_name": "exec_command", "tool_input": {"cmd": "helm uninstall api"}}, True),
        (
            {"tool_name": "apply_patch", "tool_input": {"command": patch_update(CPU, CPU.replace("large", "xlarge"))}},
            False,
        ),
        ({"tool_name": "exec_command", "tool_input": {"cmd": heredoc}}, True),
        ({"tool_name": "exec_command", "tool_input": {"cmd": "ls -la envs/dev"}}, False),
    ]
    return [(envelope(c, root, i), deny) for i, (c, deny) in enumerate(calls)]


def big_payloads(root: Path) -> list[tuple[str, bool]]:
    """Edits of one block each of a ~250 KB file; alternately GPU (denied) and CPU."""
    target = str(root / "envs/dev/big.tf")
    out = []
    for i in range(40):
        old = f'resource "aws_instance" "web{i * 37}" {{\n  ami = "ami-1"\n{CPU}'
        new = old.replace(CPU, GPU if i % 2 == 0 else CPU.replace("large", "2xlarge"))
        call = {"tool_name": "Edit", "tool_input": {"file_path": target, "old_string": old, "new_string": new}}
        out.append((envelope(call, root, i), i % 2 == 0))
    return out


VARS_DIR = "envs/stage"
VARIABLES = """variable "env" {
  type = string
}

variable "ami" {
  type    = string
  default = "ami-0abcdef1234567890"
}

variable "instance_type" {
  type    = string
  default = "t3.micro"
}

variable "large_type" {
  type    = string
  default = "m6i.2xlarge"
}

variable "gpu_type" {
  type    = string
  default = "p4d.24xlarge"
}

variable "cidr" {
  type    = string
  default = "10.0.0.0/16"
}

variable "owner" {
  type = string
}
"""
TFVARS = (
    'env           = "stage"\ninstance_type = "m6i.large"\nowner         = "platform"\ncidr          = "10.20.0.0/16"\n'
)
LOCALS = """locals {
  prefix = "${var.env}-app"
  common_tags = {
    Environment = var.env
    Owner       = var.owner
    ManagedBy   = "terraform"
  }
  log_retention = var.env == "prod" ? 365 : 30
}
"""
NETWORK_CALL = """module "network" {
  source = "../../modules/network"
  cidr   = var.cidr
  name   = local.prefix
}
"""
NETWORK = """variable "cidr" {
  type = string
}

variable "name" {
  type = string
}

resource "aws_vpc" "this" {
  cidr_block = var.cidr
  tags       = { Name = var.name }
}

resource "aws_subnet" "private" {
  count      = 3
  vpc_id     = aws_vpc.this.id
  cidr_block = cidrsubnet(var.cidr, 8, count.index)
}

output "subnet_ids" {
  value = aws_subnet.private[*].id
}

output "vpc_id" {
  value = aws_vpc.this.id
}
"""


def module_block(i: int) -> str:
    """One web tier of the module: an instance, its security group and log bucket, all reading inputs."""
    return f"""resource "aws_instance" "web{i}" {{
  ami                    = var.ami
  instance_type          = var.instance_type
  subnet_id              = module.network.subnet_ids[{i % 3}]
  vpc_security_group_ids = [aws_security_group.web{i}.id]
  monitoring             = true
  ebs_optimized          = true

  metadata_options {{
    http_tokens   = "required"
    http_endpoint = "enabled"
  }}

  root_block_device {{
    encrypted   = true
    volume_size = 20
  }}

  tags = merge(local.common_tags, {{
    Name = "${{local.prefix}}-web-{i}"
  }})
}}

resource "aws_security_group" "web{i}" {{
  name   = "${{local.prefix}}-web-{i}"
  vpc_id = module.network.vpc_id

  ingress {{
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = [var.cidr]
  }}

  tags = local.common_tags
}}

resource "aws_cloudwatch_log_group" "web{i}" {{
  name              = "/${{var.env}}/web-{i}"
  retention_in_days = local.log_retention
  tags              = local.common_tags
}}

"""


def module_payloads(root: Path) -> list[tuple[str, bool]]:
    """Edits of one block each of the module's ~250 KB file: a GPU type (denied) or another variable (allowed)."""
    target = str(root / VARS_DIR / "big.tf")
    out = []
    for i in range(40):
        old = (
            f'resource "aws_instance" "web{i * 5}" {{\n'
            "  ami                    = var.ami\n  instance_type          = var.instance_type\n"
        )
        new_type = '"p4d.24xlarge"' if i % 4 == 0 else "var.gpu_type" if i % 4 == 2 else "var.large_type"
        new = old.replace("= var.instance_type", f"= {new_type}")
        call = {"tool_name": "Edit", "tool_input": {"file_path": target, "old_string": old, "new_string": new}}
        out.append((envelope(call, root, i), i % 2 == 0))
    return out


def setup_module(root: Path) -> None:
    """A stage environment whose 250 KB file reads variables, tfvars, locals and a child module's outputs."""
    stage = root / VARS_DIR
    (root / "modules/network").mkdir(parents=True)
    stage.mkdir(parents=True)
    (root / "modules/network/main.tf").write_text(NETWORK)
    (stage / "variables.tf").write_text(VARIABLES)
    (stage / "terraform.tfvars").write_text(TFVARS)
    (stage / "locals.tf").write_text(LOCALS)
    (stage / "main.tf").write_text(NETWORK_CALL)
    blocks, size = [], 0
    while size < 250_000:
        blocks.append(module_block(len(blocks)))
        size += len(blocks[-1])
    (stage / "big.tf").write_text("".join(blocks))


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def hook_command(agent: str) -> list[str]:
    """Exactly what agentctl run wires into the agent's settings."""
    from agentctl.runner.supervisor import _GateServer

    return shlex.split(_GateServer.hook_command(agent))


def measure(
    command: list[str], env: dict[str, str], bodies: list[tuple[str, bool]], calls: int, root: Path
) -> list[float]:
    samples = []
    for i in range(calls):
        body, should_deny = bodies[i % len(bodies)]
        start = time.perf_counter()
        proc = subprocess.run(command, input=body, capture_output=True, text=True, env=env, cwd=root)
        samples.append((time.perf_counter() - start) * 1000)
        if ('"deny"' in proc.stdout) != should_deny:
            sys.exit(f"unexpected decision for {body[:200]}…: {proc.stdout[:300]} {proc.stderr[:300]}")
    return samples


def setup(root: Path) -> None:
    (root / "envs" / "dev").mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    (root / "envs/dev/main.tf").write_text(instance("web", CPU))
    blocks, size = [], 0
    while size < 250_000:
        text = instance(f"web{len(blocks)}", CPU + f'  tags = {{\n    Name = "web-{len(blocks)}"\n  }}\n') + "\n"
        blocks.append(text)
        size += len(text)
    (root / "envs/dev/big.tf").write_text("".join(blocks))
    setup_module(root)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "-c", "commit.gpgsign=false", "commit", "-qm", "base"], cwd=root, check=True)


def start_server(tmp: Path, root: Path) -> subprocess.Popen[bytes]:
    socket_path = tmp / "gate.sock"
    server = subprocess.Popen(
        [sys.executable, "-m", "agentctl", "gate", "serve", "--socket", str(socket_path), "--root", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert server.stdout is not None
    if b'"ready"' not in server.stdout.readline():
        sys.exit("gate server did not start")
    threading.Thread(target=server.stdout.read, daemon=True).start()  # drain the decision log
    return server


def stop_standalone_servers(runtime: Path) -> None:
    """Stop the per-repository server the standalone calls started (by pid, found by its socket directory)."""
    import shutil
    import signal

    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if entry.name.isdigit() and "gate serve --standalone" in cmdline and str(runtime) in cmdline:
            os.kill(int(entry.name), signal.SIGTERM)
    shutil.rmtree(runtime, ignore_errors=True)


def row(name: str, samples: list[float], target: float | None) -> tuple[str, bool]:
    p50, p95 = percentile(samples, 0.5), percentile(samples, 0.95)
    ok = target is None or p95 <= target
    goal = f"<= {target:.0f}" if target is not None else "peer"
    verdict = "" if target is None else ("yes" if ok else "NO")
    line = f"{name:<44}{len(samples):>6}{p50:>9.1f}{p95:>9.1f}{statistics.mean(samples):>9.1f}{goal:>10}{verdict:>5}"
    return line, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--naive-calls", type=int, default=50)
    parser.add_argument("--big-calls", type=int, default=20)
    parser.add_argument("--module-calls", type=int, default=40)
    parser.add_argument("--standalone-calls", type=int, default=200)
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(agentctl.__file__).parent)], check=True)

    with tempfile.TemporaryDirectory(prefix="agentctl-gate-bench-") as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "repo"
        setup(root)
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTCTL_GATE")}
        server = start_server(tmp, root)
        try:
            server_env = {**base_env, "AGENTCTL_GATE_SOCKET": str(tmp / "gate.sock")}
            claude = measure(hook_command("claude"), server_env, claude_payloads(root), args.calls, root)
            codex = measure(hook_command("codex"), server_env, codex_payloads(root), args.calls, root)
            big = measure(hook_command("claude"), server_env, big_payloads(root), args.big_calls, root)
            modular = measure(hook_command("claude"), server_env, module_payloads(root), args.module_calls, root)
        finally:
            server.terminate()
        runtime = Path(tempfile.mkdtemp(prefix="agx-"))
        standalone_env = {**base_env, "XDG_RUNTIME_DIR": str(runtime), "AGENTCTL_GATE_IDLE": "30"}
        agentctl_bin = [str(Path(sys.executable).with_name("agentctl"))]
        if not Path(agentctl_bin[0]).exists():
            agentctl_bin = [sys.executable, "-m", "agentctl"]
        standalone_cmd = [*agentctl_bin, "gate"]
        measure(standalone_cmd, standalone_env, claude_payloads(root)[:1], 1, root)  # starts the server
        time.sleep(3)
        standalone = measure(standalone_cmd, standalone_env, claude_payloads(root), args.standalone_calls, root)
        floor = []
        for _ in range(100):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-S", "-c", "pass"], check=True)
            floor.append((time.perf_counter() - start) * 1000)
        naive_env = {**base_env, "AGENTCTL_GATE_SERVER": "off"}
        naive = measure(standalone_cmd, naive_env, claude_payloads(root), args.naive_calls, root)
        stop_standalone_servers(runtime)

    header = f"{'hook (process start to decision)':<44}{'calls':>6}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}"
    print(f"\n{header}{'target':>10}{'ok':>5}")
    results = [
        row("claude: command hook -> per-run server", claude, 20),
        row("codex: command hook -> per-run server", codex, 20),
        row("250 KB .tf edit -> per-run server", big, 150),
        row("250 KB .tf edit, var/local/module context", modular, 150),
        row("standalone agentctl gate (repo server)", standalone, 100),
        row("naive: agentctl gate, no server (peer)", naive, None),
        row("floor: python -S -c pass (process start)", floor, None),
    ]
    for line, _ in results:
        print(line)
    print(f"load average while measuring: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    ratio = percentile(naive, 0.95) / percentile(claude, 0.95)
    ok_ratio = ratio >= 10
    print(f"\np95 ratio naive/claude = {ratio:.1f}x (target >= 10x): {'yes' if ok_ratio else 'NO'}")
    return 0 if all(ok for _, ok in results) and ok_ratio else 1


if __name__ == "__main__":
    raise SystemExit(main())
