"""Fault scenarios against real stores (a `chroma run` server and embedded folders), each started, faulted and
restarted here: every fault of issue 23 and the earlier ones (outages, stalls, several processes, a killed ingest).

Writes benchmarks/reliability.md: per scenario, outcomes, decisions and scores sent vs stored, routed calls failed
because of the store, the longest a call waited on the router's bookkeeping, secrets found; then the details, bad
input, and route + record latency under 8 threads. Every phase is bounded in time. Run as root for the full-disk
scenario (it mounts a 30 MB tmpfs).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/reliability.py [--outage-s 10] [--stall-s 6] [--prompts 300]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
JOURNALS = Path(os.environ.setdefault("SCOPE_JOURNAL_DIR", tempfile.mkdtemp(prefix="scope-bench-journal-")))

from benchmarks import fault_scenarios as fs  # noqa: E402
from benchmarks.fault_kit import BOUND_S, log, loose_files, secrets_in  # noqa: E402
from benchmarks.load_scenarios import (  # noqa: E402
    CORES,
    _threads_report,
    _write_long,
    scenario_bad_input,
    scenario_embedded_lock,
    scenario_processes,
    scenario_threads,
)
from scope_core import load_dataset  # noqa: E402
from tests.chroma_server import ChromaServer  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "routerbench-3k"
SLACK_MS = 250  # the call's own bookkeeping besides the journal write (payload, health), on a loaded machine
SUMMARY = ["outcomes sent", "stored", "decisions sent", "logged", "scores sent", "scored", "calls failed by the store",
           "max wait ms", "secrets"]  # fmt: skip


def run(args) -> dict:
    """Every scenario, in order; their rows and what the report needs."""
    tmp = Path(tempfile.mkdtemp(prefix="scope-reliability-"))
    logfile = tmp / "scope.log"
    handler = logging.FileHandler(logfile)
    logging.getLogger("scope_core").addHandler(handler)
    logging.getLogger("scope_core").setLevel(logging.DEBUG)
    server = ChromaServer(tmp / "chroma")
    server.start()
    dataset = load_dataset(DATA)
    train = dataset.subset([p.id for p in dataset.prompts[: args.prompts]])
    queries = [p.text for p in dataset.prompts[args.prompts : args.prompts + 200]]
    long_file = tmp / "subset.jsonl"
    _write_long(train, long_file)
    out: dict = {"rows": [], "tmp": tmp}
    try:
        router = fs.open_router(server.url, "bench")
        t = time.perf_counter()
        router.ingest(train, progress=False)
        out["ingest_s"] = time.perf_counter() - t
        router.route(queries[0])
        bench = fs.Bench(server, router, "bench", tmp, queries)
        steps = [
            ("kill", lambda: fs.under_load(bench, "kill", f"server killed (SIGKILL) for {args.outage_s:g} s under load, "
                                           "then restarted", 2.0, server.kill, args.outage_s, server.start)),
            ("stall", lambda: fs.under_load(bench, "stall", f"server stalled (SIGSTOP) for {args.stall_s:g} s under load "
                                            "(client timeout 2 s)", 1.0, server.stall, args.stall_s, server.resume)),
            ("killed, then idle", lambda: fs.killed_then_idle(bench)),
            ("start while down", lambda: fs.starts_during(bench, stall=False)),
            ("start while stalled", lambda: fs.starts_during(bench, stall=True)),
            ("stopped peer", lambda: fs.stopped_peer(bench)),
            ("disk full", lambda: fs.disk_full(bench, train)),
            ("prompt echoes", lambda: fs.private_echo(bench)),
            ("absurd tokens", lambda: fs.poisoned(bench)),
            ("journal emptied", lambda: fs.journal_damage(bench, "emptied")),
            ("journal corrupted", lambda: fs.journal_damage(bench, "corrupted")),
            ("database overwritten", lambda: fs.damaged_database(bench, long_file, "garbage")),
            ("database deleted", lambda: fs.damaged_database(bench, long_file, "deleted")),
            ("killed ingest", lambda: fs.killed_ingest(bench, long_file, len(train.outcomes))),
            ("processes", lambda: scenario_processes(server.url, "bench", 4, 50)),
        ]  # fmt: skip
        for name, step in steps:
            log(name)
            out["rows"].append(step())
        log("threads")
        embedded = fs.open_router(str(tmp / "threads"), "bench")
        embedded.ingest(train, progress=False)
        routers = {"embedded": (embedded, None), "server": (router, server.proc.pid if server.proc else None)}
        out["threads"] = scenario_threads(routers, queries)
        log("bad input")
        out["bad"] = scenario_bad_input(router)
        raised = [t for r in out["rows"] for t in r.pop("raised", [])]
        out["secrets"] = {
            "files": secrets_in(folders=[tmp / "chroma", JOURNALS, *tmp.glob("damaged-*"), tmp / "threads"]),
            "log": secrets_in([logfile.read_text()]),
            "raised": secrets_in(raised),
        }
        out["loose"] = loose_files(JOURNALS, *tmp.glob("damaged-*"), tmp / "threads")
    finally:
        server.stop()
    log("embedded lock")
    out["lock"] = scenario_embedded_lock(tmp)
    return out


def _cell(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "**NO**"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}"
    return str(v)


def _verdict(r: dict) -> str:
    """Whether the row holds: all sent stored, no call failed by the store or waited past the bound, no secret."""
    if "note" in r and "outcomes sent" not in r:
        return r["note"]
    kept = "lost" not in r  # a journal destroyed from outside: its entries cannot be stored, only named
    bad = [k for k, v in (("lost", kept and r.get("stored") != r.get("outcomes sent")),
                          ("decisions lost", kept and r.get("logged") != r.get("decisions sent")),
                          ("scores lost", kept and r.get("scored", 0) != r.get("scores sent", 0)),
                          ("calls failed", r.get("calls failed by the store")),
                          ("waited past the bound", r.get("max wait ms", 0) > 1000 * BOUND_S + SLACK_MS),
                          ("secrets", r.get("secrets")), ("not exact", r.get("exact") is False)) if v]  # fmt: skip
    return "holds" if not bad else "**" + ", ".join(bad) + "**"


def report(args, out: dict, total_s: float) -> None:
    rows, secrets = out["rows"], out["secrets"]
    lines = [
        "# Reliability under faults",
        "",
        f"`HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/reliability.py --outage-s {args.outage_s:g} --stall-s "
        f"{args.stall_s:g} --prompts {args.prompts}` as root on this {CORES}-core machine ({total_s:.0f} s in all). Real "
        f"stores are started, faulted and restarted by the script: a `chroma run` server holding {args.prompts} "
        f"routerbench-3k prompts x 11 models (ingested in {out['ingest_s']:.1f} s), embedded folders, a 30 MB tmpfs. "
        "Each routed call is made as an adapter makes it (`router.start`, `call.run`, `call.succeeded`, feedback with "
        "`wait=False`); every 5th call's first candidate fails with a provider error carrying one of 18 forms of "
        "secret (`tests/test_scrub.py`), every 25th fails on every candidate (`AllCandidatesFailedError`). *max wait "
        f"ms*: the longest a call spent in the router's bookkeeping (recording its attempts); the bound is "
        f"`journal_wait_s` = {1000 * BOUND_S:.0f} ms per journal write, after which the write (and the ones after it) "
        f"waits in memory; a row holds when no call spent more than the bound + {SLACK_MS} ms of its own work. "
        "*stored / logged / scored*: what reached the store of the outcomes, decision records and scores the calls "
        "sent, read back after the fault (no routed traffic meanwhile).",
        "",
        "## Summary",
        "",
        "| scenario | " + " | ".join(SUMMARY) + " | result |",
        "|---|" + "---|" * (len(SUMMARY) + 1),
    ]
    lines += ["| " + " | ".join([r["scenario"], *(_cell(r.get(k)) for k in SUMMARY), _verdict(r)]) + " |" for r in rows]
    lines += [
        "",
        f"**Secrets**: {secrets['files']} found in the files of the server's store, the journals and the embedded "
        f"stores; {secrets['log']} in the scope_core log (DEBUG, the whole run); {secrets['raised']} in the texts of "
        f"the errors the calls raised. **File modes**: {out['loose']} files or folders of the journals and embedded "
        "stores readable by anyone but their owner.",
        "",
        "## Details",
        "",
    ]
    for r in rows:
        extra = {k: v for k, v in r.items() if k not in SUMMARY and k not in ("scenario", "raised")}
        lines.append(f"- **{r['scenario']}**: " + ", ".join(f"{k} {_cell(v)}" for k, v in extra.items()))
    lock = out["lock"]
    lines += [
        "",
        f"**One embedded store, one process**: {lock['scenario']}: refused {_cell(lock['refused'])} in "
        f'{lock["seconds (incl. interpreter start)"]:.1f} s (interpreter start included): "{lock["message"]}..."',
        "",
        "**Bad input**, each one `InvalidInputError` line (the store's prompt and outcome counts are unchanged after "
        "all of them):",
        "",
        "| input | result |",
        "|---|---|",
    ]
    lines += [f"| {name} | {result.replace('|', '/')} |" for name, result in out["bad"]]
    lines += ["", *_threads_report(out["threads"])]
    lines += [
        "A large store (build time, RSS, disk per prompt, route p50/p99 at 10k / 100k / 1M, on synthetic vectors): "
        "[store_scale.md](store_scale.md) (`benchmarks/store_scale.py`).",
        "",
    ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage-s", type=float, default=10.0)
    parser.add_argument("--stall-s", type=float, default=6.0)
    parser.add_argument("--prompts", type=int, default=300, help="routerbench-3k prompts ingested first")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "reliability.md")
    args = parser.parse_args()
    started = time.perf_counter()
    out = run(args)
    report(args, out, time.perf_counter() - started)


if __name__ == "__main__":
    main()
