"""Benchmark `agentctl check` against Checkov on the shared corpus, in one run.

    python bench/check_bench.py            # installs Checkov into bench/.venv-checkov on first use
    python bench/check_bench.py --no-checkov

Measures (medians of repeated runs, wall time of the installed binaries):

* cold full scan of a copy of ../shared/corpus (empty caches)   target: <= 1/50 of Checkov
* unchanged re-scan (warm caches)                               target: <= 0.5 s
* `--version`                                                   target: <= 150 ms
* `--diff HEAD~1..HEAD` over a commit changing 5 files           target: <= 0.6 s

Each row also shows the CPU seconds (user + system) of the measured process:
on a shared, loaded machine wall time grows with the load, CPU time much less.

Checkov runs with --skip-download and the same three frameworks (terraform,
terraform_plan, kubernetes), so both tools read the same files offline.

agentctl's bytecode is compiled first, as `pip install` does: an editable install
under PYTHONDONTWRITEBYTECODE=1 would otherwise recompile every module on every run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CORPUS = Path(os.environ.get("AGENTCTL_CORPUS", REPO.parent / "shared" / "corpus"))
CHECKOV_VENV = HERE / ".venv-checkov"
CHECKOV_VERSION = "3.3.30"


def agentctl_binary() -> str:
    candidate = Path(sys.executable).parent / "agentctl"
    found = str(candidate) if candidate.exists() else shutil.which("agentctl")
    if not found:
        sys.exit("agentctl is not installed in this environment (pip install -e .)")
    return found


def ensure_checkov() -> str:
    binary = CHECKOV_VENV / "bin" / "checkov"
    if not binary.exists():
        print(f"installing checkov {CHECKOV_VERSION} into {CHECKOV_VENV} (once) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
        subprocess.run(
            [str(CHECKOV_VENV / "bin" / "pip"), "install", "--quiet", f"checkov=={CHECKOV_VERSION}"], check=True
        )
    return str(binary)


CPU_SAMPLES: list[float] = []
"""CPU seconds (user + system) of each timed run: on a loaded machine, wall time alone misleads."""


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_SAMPLES.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall


def median(cmd: list[str], cwd: Path, runs: int, env_for_run=None) -> float:  # type: ignore[no-untyped-def]
    samples = [timed(cmd, cwd, env_for_run(i) if env_for_run else None) for i in range(runs)]
    return statistics.median(samples)


def last_cpu(runs: int) -> float:
    return statistics.median(CPU_SAMPLES[-runs:])


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def make_diff_repo(corpus_copy: Path) -> None:
    git(corpus_copy, "init", "-q", "-b", "main")
    git(corpus_copy, "-c", "user.email=b@example.com", "-c", "user.name=bench", "add", "-A")
    git(corpus_copy, "-c", "user.email=b@example.com", "-c", "user.name=bench", "commit", "-q", "-m", "base")
    targets = [
        "terragoat/terraform/aws/ec2.tf",
        "terragoat/terraform/aws/s3.tf",
        "terraform-aws-eks/main.tf",
        "kubernetes-goat/scenarios/health-check/deployment.yaml",
        "microservices-demo/kubernetes-manifests/frontend.yaml",
    ]
    for rel in targets:
        path = corpus_copy / rel
        if rel.endswith(".tf"):
            path.write_text(path.read_text() + '\nresource "aws_s3_bucket_acl" "bench" {\n  acl = "public-read"\n}\n')
        else:
            path.write_text(path.read_text().replace("replicas: 1", "replicas: 3", 1) + "\n")
    git(corpus_copy, "-c", "user.email=b@example.com", "-c", "user.name=bench", "commit", "-qam", "five files")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-checkov", action="store_true", help="skip the Checkov comparison")
    parser.add_argument("--runs", type=int, default=7, help="runs per agentctl measurement (median)")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        sys.exit(f"corpus not found: {CORPUS}")

    agentctl = agentctl_binary()
    import agentctl as package

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(package.__file__).parent)], check=True)
    checkov = None if args.no_checkov else ensure_checkov()
    rows: list[tuple[str, float, float | None, str, bool]] = []
    cpu: dict[str, float] = {}
    peer_cpu: dict[str, float] = {}

    with tempfile.TemporaryDirectory(prefix="agentctl-bench-") as tmp:
        work = Path(tmp)
        corpus = work / "corpus"
        shutil.copytree(CORPUS, corpus, symlinks=True)
        caches = work / "caches"

        def fresh_cache(i: int) -> dict[str, str]:
            return {"AGENTCTL_CACHE_DIR": str(caches / f"cold-{time.monotonic_ns()}-{i}" / "parse")}

        print("measuring cold full scans ...", file=sys.stderr)
        cold = median([agentctl, "check", "-q", "."], corpus, max(3, args.runs // 2), fresh_cache)
        cpu["full scan, cold"] = last_cpu(max(3, args.runs // 2))
        peer_full = None
        if checkov:
            print("measuring Checkov full scan (this takes a while) ...", file=sys.stderr)
            peer_full = timed(
                [
                    checkov,
                    "-d",
                    ".",
                    "--quiet",
                    "--compact",
                    "-o",
                    "json",
                    "--skip-download",
                    "--framework",
                    "terraform",
                    "terraform_plan",
                    "kubernetes",
                ],
                corpus,
            )
            peer_cpu["full scan, cold"] = last_cpu(1)
        rows.append(
            ("full scan, cold", cold, peer_full, "<= 1/50 of Checkov", peer_full is None or cold <= peer_full / 50)
        )

        warm_env = {"AGENTCTL_CACHE_DIR": str(caches / "warm" / "parse")}
        timed([agentctl, "check", "-q", "."], corpus, warm_env)
        warm = median([agentctl, "check", "-q", "."], corpus, args.runs, lambda _i: warm_env)
        cpu["unchanged re-scan"] = last_cpu(args.runs)
        rows.append(("unchanged re-scan", warm, None, "<= 0.5 s", warm <= 0.5))

        version = median([agentctl, "--version"], corpus, args.runs * 2)
        cpu["--version"] = last_cpu(args.runs * 2)
        peer_version = median([checkov, "--version", "--skip-download"], corpus, 3) if checkov else None
        rows.append(("--version", version, peer_version, "<= 150 ms", version <= 0.150))

        make_diff_repo(corpus)
        diff = median([agentctl, "check", "-q", "--diff", "HEAD~1..HEAD"], corpus, args.runs, fresh_cache)
        cpu["--diff, 5 files, cold"] = last_cpu(args.runs)
        rows.append(("--diff, 5 files, cold", diff, None, "<= 0.6 s", diff <= 0.6))
        diff_env = {"AGENTCTL_CACHE_DIR": str(caches / "diff" / "parse")}
        timed([agentctl, "check", "-q", "--diff", "HEAD~1..HEAD"], corpus, diff_env)
        diff_warm = median([agentctl, "check", "-q", "--diff", "HEAD~1..HEAD"], corpus, args.runs, lambda _i: diff_env)
        cpu["--diff, 5 files, warm"] = last_cpu(args.runs)
        rows.append(("--diff, 5 files, warm", diff_warm, None, "<= 0.6 s", diff_warm <= 0.6))

    print(f"\n{'measurement':<26}{'agentctl':>11}{'Checkov':>11}{'ratio':>10}  {'target':<20}ok   cpu (ours/peer)")
    for name, ours, peer, target, ok in rows:
        peer_text = f"{peer:9.3f}s" if peer is not None else f"{'-':>10}"
        ratio = f"1/{peer / ours:5.1f}" if peer else f"{'-':>7}"
        cpu_text = f"{cpu.get(name, 0):.3f}s" + (f" / {peer_cpu[name]:.3f}s" if name in peer_cpu else "")
        print(f"{name:<26}{ours:10.3f}s{peer_text:>11}{ratio:>10}  {target:<20}{'yes' if ok else 'NO ':<5}{cpu_text}")
    print(
        f"\nload average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times grow with it)"
    )
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
