"""An embedded store whose database file is damaged or deleted is reported as such (naming the file and what to do),
never as merely unavailable nor silently replaced by an empty store; routing goes on on the registry snapshot and
writes wait in the journal. Each step runs in its own process, as a restart would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_MAKE = """
import sys
from scope_core import ModelSpec, Outcome, Router
from tests.test_store_server import letter_counts
router = Router.open(sys.argv[1], embedder=letter_counts, cache_ttl_s=0.0)
for name, price in (("cheap", 0.1), ("dear", 5.0)):
    router.register_model(ModelSpec(name=name, input_price=price, output_price=2 * price))
router.record([Outcome(prompt=f"Seed question {i}", model=m, score=float(m == "dear")) for i in range(30) for m in ("cheap", "dear")])
router.route("Seed question 3")
"""
_REOPEN = """
import json, sys
from scope_core import Router
from scope_core.errors import StoreCorruptedError
from tests.test_store_server import letter_counts
router = Router.open(sys.argv[1], embedder=letter_counts)
decision = router.route("Seed question 7", alpha=1.0)
router.record_call(decision, "Seed question 7", decision.chosen, output_tokens=4, run_id="while-damaged")
status = router.status()
try:
    router.store.count_outcomes()
    raised = "nothing"
except StoreCorruptedError as exc:
    raised = str(exc)
print(json.dumps({"store": status.store, "registry": status.registry, "waiting": status.waiting,
                  "chosen": decision.chosen, "degraded": decision.degraded, "raised": raised}))
"""


def _python(script: str, folder: Path) -> str:
    done = subprocess.run([sys.executable, "-c", script, str(folder)], cwd=ROOT, capture_output=True, text=True,
                          timeout=180, env={**os.environ, "HF_HUB_OFFLINE": "1"})  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize("damage", ["garbage", "deleted"])
def test_a_damaged_or_deleted_database_is_named_and_routing_goes_on(tmp_path, damage):
    folder = tmp_path / "store"
    _python(_MAKE, folder)
    database = folder / "chroma.sqlite3"
    if damage == "garbage":
        database.write_bytes(os.urandom(65536))
    else:
        database.unlink()
    seen = json.loads(_python(_REOPEN, folder).strip().splitlines()[-1])
    assert seen["store"] == "corrupted" and seen["registry"] == "snapshot" and seen["waiting"] == 1
    assert seen["degraded"] and seen["chosen"] == "dear"
    assert str(database) in seen["raised"] or damage == "garbage"
    assert "restore it from a backup" in seen["raised"] and "unavailable" not in seen["raised"]
    if damage == "deleted":
        assert not database.exists(), "no empty store was made in its place"
