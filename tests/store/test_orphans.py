"""A run whose recorder died on another CI runner is marked ``interrupted`` by the next reader anywhere (PostgreSQL).

A process id means nothing on another host. The recording ``agentctl run``
holds the run's session lock on its PostgreSQL connection; the server lets go
of it when the recorder's connection dies, and a reader on any host that can
take the lock knows the run will never be finished.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from agentctl.store.sqlite import Store
from tests.store.conftest import new_database

RECORDER = """
import sys, time
from pathlib import Path
from agentctl.store.sqlite import RunRecord, Store
store = Store(Path(sys.argv[1]) / "agentctl.db", sys.argv[2])
store.db.hold_run("r-far")
store.create_run(RunRecord(id="r-far", agent="codex", status="running", started_at=time.time(), pid=4242,
                           host="ci-runner-7"))
store.append_event("r-far", 1, "tool_start", time.time(), '{"kind": "tool_start", "tool_name": "exec_command"}')
print("recording", flush=True)
time.sleep(600)
"""


def test_a_run_whose_recorder_died_on_another_host_is_marked_interrupted(pg_server: str, tmp_path: Path) -> None:
    url = new_database(pg_server)
    keys = tmp_path / "keys"
    recorder = subprocess.Popen(
        [sys.executable, "-c", RECORDER, str(keys), url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert recorder.stdout is not None and recorder.stdout.readline() == "recording\n", recorder.stderr
        reader = Store(keys / "agentctl.db", url)
        assert reader.mark_orphans() == []  # alive on its runner: left alone, whatever its pid means here
        assert reader.get_run("r-far").status == "running"
    finally:
        recorder.kill()  # the runner is gone, and with it its connection
        recorder.wait(timeout=30)
    deadline = time.monotonic() + 30
    orphans = reader.mark_orphans()
    while not orphans and time.monotonic() < deadline:
        time.sleep(0.2)
        orphans = reader.mark_orphans()
    assert orphans == ["r-far"]
    run = reader.get_run("r-far")
    assert (run.status, run.tool_calls, run.host) == ("interrupted", 1, "ci-runner-7")
    assert reader.verify("r-far").state == "verified"
    reader.close()
