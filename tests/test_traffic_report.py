"""Two processes route through one real `chroma run` server (a LangChain agent and a LlamaIndex query engine, as
``benchmarks/traffic.py`` runs them at scale); ``scope report --json`` over their traffic equals a recomputation
from the raw ``router.history()`` rows, and both processes' calls are in that one report."""

from __future__ import annotations

import json
import multiprocessing as mp
import random

import pytest
from typer.testing import CliRunner

from benchmarks.traffic import DATA, _worker, agrees, recompute
from scope_core import Router, load_dataset
from scope_core.cli import app

pytestmark = [pytest.mark.data, pytest.mark.server]


@pytest.mark.skipif(not DATA.exists(), reason=f"no data at {DATA}")
def test_one_report_over_two_processes_equals_its_recomputation(server, embedder, tmp_path):
    dataset = load_dataset(DATA)
    ids = [p.id for p in dataset.prompts]
    random.Random(0).shuffle(ids)
    router = Router.open(server.url, embedder=embedder)
    router.ingest(dataset.subset(ids[:150]), progress=False)
    text = {p.id: p.text for p in dataset.prompts}
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    workers = [
        ctx.Process(target=_worker, args=(kind, server.url, [text[i] for i in ids[start::2][:40]], 12, 0.5, 1.0, out))
        for kind, start in (("langchain", 150), ("llamaindex", 151))
    ]
    for w in workers:
        w.start()
    done = dict(out.get(timeout=600) for _ in workers)
    for w in workers:
        w.join(60)
    assert all("error" not in v for v in done.values()), done
    result = CliRunner().invoke(app, ["report", "--store", server.url, "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    rows = router.history()
    assert agrees(report, recompute(rows))
    assert report["calls"] == len(rows) == done["langchain"]["routed"] + done["llamaindex"]["routed"]
    assert {"agent" if "agent" in r.tags else r.metadata.get("team") for r in rows} == {"agent", "search"}
    assert report["scored"] > 0 and report["spend_usd"] > 0
