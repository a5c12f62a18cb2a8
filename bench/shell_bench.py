"""Benchmark the gate's shell parse on a 10 KB script, against Python's shlex in the same run.

    python bench/shell_bench.py              # the agentctl installed here (pure Python in a dev venv)
    python bench/shell_bench.py --compiled   # also the compiled walk (AGENTCTL_COMPILE=1), built for the run

Measures (median and p95 of repeated runs, in-process, after one warm-up):

* tree-sitter-bash parse of the raw text                         (for reference)
* ``agentctl.gate.shell.parse``: the parse plus the walk that     target: <= 5 ms
  builds every simple command, unwraps wrappers and finds reads/writes
* the whole gate decision of a Claude ``Bash`` call carrying that script
* peer: ``shlex.split`` of the same text (a tokenizer only: no structure,
  no substitutions, no heredocs), so the ratio shows what real parsing costs
"""

from __future__ import annotations

import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BLOCK = r"""set -euo pipefail
cd "$(dirname "$0")/.." && echo "building in $PWD"
for dir in envs/dev envs/staging; do
  terraform -chdir="$dir" init -input=false >/dev/null 2>&1 || { echo "init failed in $dir" >&2; exit 1; }
  terraform -chdir="$dir" plan -out "$dir/tf.plan" | tee -a plan.log
done
if [[ -f .env.example ]]; then cp .env.example .env.local; fi
kubectl --context kind-dev get pods -A -o wide | grep -v Running | awk '{print $2}' | xargs -r echo
cat > notes.md <<'EOF'
release notes: nothing to apply yet ($HOME stays literal)
EOF
VERSION=$(git describe --tags --always) && sed -i "s/^version = .*/version = \"$VERSION\"/" pyproject.toml
python3 -c 'import json,sys; print(json.dumps({"ok": True}))' > /tmp/status.json
find . -name '*.pyc' -delete; rm -rf ./build dist
helm template charts/app --set image.tag="$VERSION" | kubectl --context kind-dev apply --dry-run=client -f -
"""


def script(size: int = 10 * 1024) -> str:
    text = ""
    while len(text) < size:
        text += BLOCK
    return text[:size].rsplit("\n", 1)[0] + "\n"


def measure(fn: Callable[[], object], runs: int) -> tuple[float, float, float]:
    """(median wall ms, p95 wall ms, median CPU ms): CPU time is what a shared, loaded machine cannot inflate."""
    fn()
    times, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], statistics.median(cpu)


def main() -> int:
    if "--compiled" in sys.argv[1:]:
        return _with_compiled()
    from agentctl.gate import shell
    from agentctl.gate.decide import Gatekeeper, load_book

    text = script()
    data = text.encode()
    runs = 200
    parser = shell._parser()
    raw = measure(lambda: parser.parse(data), runs)
    ours = measure(lambda: shell.parse(text, home="/home/u"), runs)
    peer = measure(lambda: shlex.split(text, comments=True), runs)
    with tempfile.TemporaryDirectory() as tmp:
        keeper = Gatekeeper(Path(tmp), load_book(Path(tmp), []))
        payload = {"tool_name": "Bash", "tool_input": {"command": text}, "cwd": tmp}
        decide = measure(lambda: keeper.decide(payload, "claude"), 50)
    commands = len(shell.parse(text, home="/home/u"))
    build = "compiled (mypyc, AGENTCTL_COMPILE=1)" if shell.COMPILED else "pure Python"
    print(f"script: {len(data)} bytes, {text.count(chr(10))} lines, {commands} simple commands; walk: {build}")
    for label, (median, p95, cpu) in (
        ("tree-sitter parse only", raw),
        ("agentctl shell.parse", ours),
        ("gate decision (Bash call)", decide),
        ("peer shlex.split", peer),
    ):
        print(f"{label:27} median {median:7.2f} ms   p95 {p95:7.2f} ms   cpu {cpu:7.2f} ms")
    print(f"ratio shell.parse / shlex.split (median wall): {ours[0] / peer[0]:.2f}x  (target: shell.parse <= 5 ms)")
    return 0 if min(ours[0], ours[2]) <= 5.0 else 1


def _with_compiled() -> int:
    """This bench on the pure walk, then on the compiled one (built from this tree into a temporary directory)."""
    import os
    import subprocess

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench import compiled

    reason = compiled.missing()
    if reason:
        print(f"cannot build the compiled walk: {reason}", file=sys.stderr)
        return 2
    pure = subprocess.run([sys.executable, __file__], check=False).returncode
    with tempfile.TemporaryDirectory() as tmp:
        print("building the compiled walk (about a minute)…", file=sys.stderr, flush=True)
        _, target = compiled.build(Path(tmp))
        env = {**os.environ, "PYTHONPATH": str(target)}
        fast = subprocess.run([sys.executable, __file__], env=env, check=False).returncode
    return max(pure, fast) if fast else 0


if __name__ == "__main__":
    sys.exit(main())
