"""Several first runs at once create one store; none fails with "database is locked"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

OPEN = "import sys; from pathlib import Path; from agentctl.store.sqlite import Store; Store(Path(sys.argv[1])).close()"


def test_many_processes_opening_a_new_store_at_once_all_succeed(tmp_path: Path) -> None:
    for round_ in range(3):
        path = tmp_path / f"round{round_}" / ".agentctl" / "agentctl.db"
        procs = [
            subprocess.Popen([sys.executable, "-c", OPEN, str(path)], stderr=subprocess.PIPE, text=True)
            for _ in range(8)
        ]
        errors = [p.communicate(timeout=120)[1] for p in procs]
        assert [p.returncode for p in procs] == [0] * 8, errors
        assert path.exists()
