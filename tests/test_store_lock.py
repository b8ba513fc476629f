"""One embedded store folder, one process: a second process is refused at once with a clear error."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from scope_core import BehaviourStore, ModelSpec

_OPEN = """
import sys, time
from scope_core.errors import StoreLockedError
from scope_core.store import BehaviourStore
started = time.perf_counter()
try:
    BehaviourStore.open(sys.argv[1])
except StoreLockedError as exc:
    print(f"{time.perf_counter() - started:.3f}", exc, sep="\\n")
    sys.exit(3)
"""


def _open_in_another_process(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _OPEN, str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )


def test_a_second_process_on_an_open_embedded_store_fails_at_once_saying_to_run_a_server(tmp_path):
    store = BehaviourStore.open(str(tmp_path))
    store.put_model(ModelSpec(name="m", input_price=1, output_price=2))
    child = _open_in_another_process(tmp_path)
    assert child.returncode == 3, child.stderr
    seconds, message = child.stdout.split("\n", 1)
    assert float(seconds) < 1.0
    assert "already open in another process" in message and "chroma run" in message and "http://" in message
    assert BehaviourStore.open(str(tmp_path)).models().keys() == {"m"}, "the same process may open it again"


def test_the_lock_goes_with_the_process(tmp_path):
    folder = tmp_path / "store"
    started = time.perf_counter()
    first = _open_in_another_process(folder)  # opens, then exits
    assert first.returncode == 0, first.stderr
    assert time.perf_counter() - started < 60
    assert BehaviourStore.open(str(folder)).count_prompts() == 0
