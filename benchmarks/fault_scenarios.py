"""The fault scenarios of issue 23, each on a real store started, faulted and restarted here; each returns its row
(``fault_kit.row``: sent vs stored, calls failed by the store, the longest wait on the bookkeeping)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.fault_kit import (
    BOUND_S,
    ROOT,
    Calls,
    Load,
    exact,
    fill,
    landed,
    python,
    routed_call,
    row,
    secrets_in,
    tmpfs,
    wait_landed,
)
from scope_core import BehaviourStore, Outcome, Router, default_embedder
from scope_core.errors import ImplausibleOutcomeError, NoCandidateError
from scope_core.routing.call import Usage
from scope_core.store.records import PromptInfo
from tests.chroma_server import ChromaServer


@dataclass
class Bench:
    """The benchmark's server, its store's router (``name``), scratch folder and held-out queries."""

    server: ChromaServer
    router: Router
    name: str
    tmp: Path
    queries: list[str]

    def probe(self, name: str | None = None) -> BehaviourStore:
        """A store of its own on the server, to read what landed without routing anything."""
        return BehaviourStore.open(self.server.url, name=name or self.name, timeout_s=5.0)


def open_router(where: str, name: str, **kwargs) -> Router:
    kwargs = {"timeout_s": 2.0, "retry_s": 1.0, "journal_wait_s": BOUND_S, **kwargs}
    return Router.open(where, name=name, embedder=default_embedder(disk_cache=True), **kwargs)


def under_load(bench: Bench, tag: str, what: str, lead_s: float, fault, hold_s: float, undo) -> dict:
    """Routed calls every 100 ms while ``fault()`` holds ``hold_s`` seconds, then ``undo()``."""
    with Load(bench.router, bench.queries, tag) as load:
        time.sleep(lead_s)
        t_fault = time.perf_counter()
        fault()
        time.sleep(hold_s)
        t_back = time.perf_counter()
        undo()
        back_s = time.perf_counter() - t_back
        time.sleep(1.0)
    recover = wait_landed(bench.probe(), load.calls)
    during = [r for r in load.calls.routes if t_fault <= r[0] < t_back]
    return row(what, bench.router.store, load.calls, **{
        "routes during": len(during), "degraded": sum(r[2] for r in during),
        "max route ms": 1000 * max((r[1] for r in during), default=0.0),
        "recover s": None if recover is None else recover + back_s, "exact": exact(bench.router.store),
        
    })  # fmt: skip


def killed_then_idle(bench: Bench, n: int = 120) -> dict:
    """The hidden check: the server killed mid-stream, restarted, then no traffic at all."""
    calls = Calls()
    for i in range(n):
        if i == n // 3:
            bench.server.kill()
        routed_call(bench.router, calls, bench.queries[i % len(bench.queries)], f"idle-{i}", i + 1)
    bench.server.start()
    recover = wait_landed(bench.probe(), calls, 60)
    return row(f"server killed after {n // 3} of {n} calls, restarted, then no traffic", bench.router.store, calls,
               **{"recover s": recover, "exact": exact(bench.router.store)})  # fmt: skip


_START = """
import json, sys, time
from scope_core import Candidate, Router, default_embedder
from scope_langchain import ScopeChatModel
from scope_langchain.testing import ScriptedChatModel
started = time.perf_counter()
router = Router.open(sys.argv[1], name=sys.argv[2], embedder=default_embedder(disk_cache=True), timeout_s=2.0)
opened = time.perf_counter() - started
pool = [Candidate(model=ScriptedChatModel(model=n), spec=s) for n, s in router.models().items()]
chat = ScopeChatModel(candidates=pool, router=router)
ends = [chat.invoke(f"Question {i} asked while the store is down").response_metadata["scope"] for i in range(10)]
print(json.dumps({"opened_s": opened, "registry": router.status().registry, "ids": [e["run_id"] for e in ends],
                  "degraded": sum(e["degraded"] for e in ends)}))
"""


def starts_during(bench: Bench, stall: bool) -> dict:
    """A new process opens its router while the server is down (or stalled) and answers through the adapter."""
    fault, undo = (bench.server.stall, bench.server.resume) if stall else (bench.server.kill, bench.server.start)
    fault()
    try:
        seen = python(_START, bench.server.url, bench.name)
    finally:
        undo()
    calls = Calls(run_ids=seen["ids"], outcome_ids=seen["ids"])
    recover = wait_landed(bench.probe(), calls, 60)  # the dead process's journal: adopted by the live router
    what = "stalled (SIGSTOP)" if stall else "down (killed)"
    return row(f"a process starts while the server is {what}", bench.router.store, calls, **{
        "opened s": seen["opened_s"], "answered": f"{len(seen['ids'])}/10 ({seen['degraded']} degraded)",
        "registry": seen["registry"], "recover s": recover,
    })  # fmt: skip


_HOLD_LOCK = """
import os, signal, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
os.kill(os.getpid(), signal.SIGSTOP)
"""


def stopped_peer(bench: Bench, n: int = 20) -> dict:
    """A peer process SIGSTOPped while it holds the shared journal's write lock."""
    peer = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(bench.router.journal.path)], stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    calls = Calls()
    try:
        assert peer.stdout.readline().strip() == "locked"
        for i in range(n):
            routed_call(bench.router, calls, bench.queries[i], f"peer-{i}", i + 1)
        in_memory = bench.router.status().in_memory
    finally:
        peer.send_signal(signal.SIGKILL)
        peer.wait(timeout=30)
    recover = wait_landed(bench.probe(), calls, 60)
    return row("a peer process SIGSTOPped holding the journal's lock, then killed", bench.router.store, calls,
               **{"in memory meanwhile": in_memory, "recover s": recover})  # fmt: skip


def disk_full(bench: Bench, train) -> dict:
    """An embedded store on a 30 MB tmpfs filled to the last byte, then given room again."""
    with tmpfs(bench.tmp / "full-disk") as disk:
        if disk is None:
            return {"scenario": "disk full under an embedded store", "note": "skipped: mounting a tmpfs needs root"}
        router = open_router(str(disk / "store"), "bench")
        router.ingest(train.subset([p.id for p in train.prompts[:40]]), progress=False, fit=False)
        filler = fill(disk)
        calls = Calls()
        for i in range(20):
            routed_call(router, calls, bench.queries[i], f"full-{i}", i + 1)
        in_memory = router.status().in_memory
        filler.unlink()
        recover = wait_landed(router.store, calls, 60)
        return row("disk full (30 MB tmpfs) under an embedded store, then room again", router.store, calls, **{
            "in memory meanwhile": in_memory, "recover s": recover, "exact": exact(router.store),
            "secrets": secrets_in(calls.raised, [disk / "store"]),
        })  # fmt: skip


def private_echo(bench: Bench) -> dict:
    """``store_prompts=False``, and provider errors that echo the prompt."""
    router = open_router(bench.server.url, "private", store_prompts=False)
    for spec in bench.router.models().values():
        router.register_model(spec)
    secret = "my PIN is ZQ-9876-XW and my card 4111-2222-3333-4444"
    calls = Calls()
    for i in range(10):
        text = f"Question {i}: {secret}, what is my balance?"
        call = router.start(text, run_id=f"echo-{i}")

        def invoke(attempt, text=text):
            if attempt.index < 2:
                raise RuntimeError(
                    f"BadRequestError 400: flagged input '{text}'\n{{'messages': [{{'content': '{text}'}}]}}"
                )
            return "an answer"

        attempt, _ = call.run(invoke)
        call.succeeded(attempt, Usage(30, 8))
        calls.run_ids.append(call.run_id)
        calls.outcome_ids += [e.run_id for e in call.ended]
    router.flush(timeout=30)
    files = [bench.server.path, router.journal.path.parent]
    echoes = sum(piece.encode() in p.read_bytes() for f in files for p in Path(f).rglob("*") if p.is_file()
                 for piece in ("ZQ-9876-XW", "4111-2222"))  # fmt: skip
    return row(
        "store_prompts=False, provider errors echoing the prompt",
        router.store,
        calls,
        **{"prompt echoes in files": echoes},
    )


def poisoned(bench: Bench) -> dict:
    """Absurd token counts: refused when recorded, dropped from a routed call's record, harmless once in."""
    router = bench.router
    model = next(iter(router.models()))
    refused = 0
    for usage in ({"output_tokens": 1_008_251}, {"input_tokens": 10**7}, {"cost_usd": 1e6}):
        try:
            router.record(Outcome(prompt="How long was that answer?", model=model, score=1.0, **usage))
        except ImplausibleOutcomeError:
            refused += 1
    calls = Calls()
    for i in range(5):
        call = router.start(bench.queries[i], run_id=f"absurd-{i}")
        attempt, _ = call.run(lambda attempt: "an answer")
        call.succeeded(attempt, Usage(40, 5_000_000))
        calls.run_ids.append(call.run_id)
        calls.outcome_ids.append(call.run_id)
    young = Router(BehaviourStore.ephemeral(), embedder=router.embedder, cache_ttl_s=0.0)
    specs = list(router.models().values())[:3]
    for spec in specs:
        young.register_model(spec)
    young.record([Outcome(prompt=q, model=s.name, score=1.0, input_tokens=40, output_tokens=60, cost_usd=s.cost(40, 60))
                  for q in bench.queries[:5] for s in specs])  # fmt: skip
    poison = [Outcome(prompt=bench.queries[5], model=s.name, score=1.0, input_tokens=40, output_tokens=1_008_251,
                      cost_usd=s.cost(40, 1_008_251)) for s in specs]  # fmt: skip
    h = poison[0].prompt_hash
    young.store.add(poison, {h: PromptInfo(h, young.embed_texts([bench.queries[5]])[0], 40, bench.queries[5])})
    young.view.invalidate()
    failed = 0
    for q in bench.queries[6:26]:
        try:
            young.route(q)
        except NoCandidateError:
            failed += 1
    router.flush(timeout=30)
    return row("absurd token counts (a million output tokens)", router.store, calls, **{
        "refused at record": f"{refused}/3", "routes failing on old poison": f"{failed}/20",
    })  # fmt: skip


_KILLED_INGEST = """
import os, signal, sys
from scope_core import Router, default_embedder, load_dataset
router = Router.open(sys.argv[1], embedder=default_embedder(disk_cache=True))
outcomes = router.store._outcomes
class DiesMidWrite:  # SIGKILL in the middle of a batch's records, after its priors were counted
    calls = 0
    def add(self, ids, **fields):
        DiesMidWrite.calls += 1
        if DiesMidWrite.calls == 2:
            half = len(ids) // 2
            outcomes.add(ids=ids[:half], **{k: v[:half] for k, v in fields.items()})
            os.kill(os.getpid(), signal.SIGKILL)
        return outcomes.add(ids=ids, **fields)
    def __getattr__(self, attr):
        return getattr(outcomes, attr)
router.store._outcomes = DiesMidWrite()
dataset = load_dataset(sys.argv[2])
router.ingest(dataset, progress=False, batch_prompts=max(1, len(dataset.prompts) // 4), fit=False)
"""
_RECORDER = """
import json, sys
from scope_core import Router, default_embedder
router = Router.open(sys.argv[1], embedder=default_embedder(disk_cache=True))
ids = []
for i in range(40):
    text = f"While the ingest reruns, question {i}: what is {i} squared?"
    decision = router.route(text)
    ids.append(router.record_call(decision, text, decision.chosen, score=1.0, output_tokens=5, run_id=f"rec-{i}").id)
router.flush(timeout=60)
print(json.dumps({"ids": ids}))
"""


def killed_ingest(bench: Bench, long_file: Path, n_outcomes: int) -> dict:
    """`scope ingest` killed in the middle of its second batch's records, rerun while another process records."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    child = subprocess.run([sys.executable, "-c", _KILLED_INGEST, bench.server.url, str(long_file)], cwd=ROOT, env=env,
                           capture_output=True, timeout=600)  # fmt: skip
    probe = bench.probe("scope")
    partial = probe.count_outcomes()
    recorder = subprocess.Popen([sys.executable, "-c", _RECORDER, bench.server.url], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, text=True)  # fmt: skip
    rerun = subprocess.run([sys.executable, "-c", "from scope_core.cli import app; app()", "ingest", str(long_file),
                            "--store", bench.server.url], cwd=ROOT, env=env, capture_output=True, timeout=600)  # fmt: skip
    recorded = recorder.communicate(timeout=600)[0].strip().splitlines()[-1]
    ids = __import__("json").loads(recorded)["ids"]
    calls = Calls(run_ids=ids, outcome_ids=ids)
    got = landed(probe, calls)
    return {
        "scenario": f"`scope ingest` SIGKILLed mid-batch (2 of 4) at {partial} of {n_outcomes} outcomes, rerun while "
        "another process records",
        "outcomes sent": n_outcomes + len(ids), "stored": probe.count_outcomes(), "decisions sent": len(ids),
        "logged": got["decisions"], "calls failed by the store": 0, "exact": exact(probe),
        "note": f"killed: {child.returncode == -signal.SIGKILL}, rerun exit {rerun.returncode}",
    }  # fmt: skip


_DAMAGED = """
import json, sys
from scope_core import Candidate, Router, default_embedder
from scope_langchain import ScopeChatModel
from scope_langchain.testing import ScriptedChatModel
router = Router.open(sys.argv[1], embedder=default_embedder(disk_cache=True))
if sys.argv[2] == "make":
    from scope_core import load_dataset
    data = load_dataset(sys.argv[3])
    router.ingest(data.subset([p.id for p in data.prompts[:30]]), progress=False, fit=False)
    router.route("a first route keeps the registry snapshot")
    print(json.dumps({}))
elif sys.argv[2] == "use":
    pool = [Candidate(model=ScriptedChatModel(model=n), spec=s) for n, s in router.models().items()]
    chat = ScopeChatModel(candidates=pool, router=router)
    ends = [chat.invoke(f"Question {i} while the database is damaged").response_metadata["scope"] for i in range(10)]
    print(json.dumps({"store": router.status().store, "cause": router.status().cause, "ids": [e["run_id"] for e in ends]}))
else:
    router.flush(timeout=60)
    ids = sys.argv[3].split(",")
    print(json.dumps({"stored": len(router.store._outcomes.get(ids=ids, include=[])["ids"]),
                      "records": len(router.store.decisions.records(ids))}))
"""


def damaged_database(bench: Bench, long_file: Path, damage: str) -> dict:
    """An embedded store whose chroma.sqlite3 is overwritten with garbage (or deleted), then restored from a backup."""
    folder = bench.tmp / f"damaged-{damage}"
    python(_DAMAGED, str(folder), "make", str(long_file))
    database = folder / "chroma.sqlite3"
    shutil.copy2(database, bench.tmp / f"backup-{damage}")
    if damage == "garbage":
        database.write_bytes(os.urandom(65536))
    else:
        database.unlink()
    seen = python(_DAMAGED, str(folder), "use")
    shutil.copy2(bench.tmp / f"backup-{damage}", database)
    after = python(_DAMAGED, str(folder), "after", ",".join(seen["ids"]))
    return {
        "scenario": f"embedded chroma.sqlite3 {'overwritten' if damage == 'garbage' else 'deleted'}, then restored",
        "outcomes sent": len(seen["ids"]), "stored": after["stored"], "decisions sent": len(seen["ids"]),
        "logged": after["records"], "calls failed by the store": 10 - len(seen["ids"]),
        "reported as": seen["store"], "note": seen["cause"][:90],
    }  # fmt: skip


_JOURNAL = """
import json, sys
from scope_core import Candidate, ModelSpec, Router, default_embedder
from scope_langchain import ScopeChatModel
from scope_langchain.testing import ScriptedChatModel
url, journal, step = sys.argv[1:4]
router = Router.open(url, name="bench", journal=journal, embedder=default_embedder(disk_cache=True), timeout_s=2.0)
if step == "record":  # the server is down: everything goes to the journal
    specs = [ModelSpec.model_validate_json(s) for s in json.loads(sys.argv[4])]
    chat = ScopeChatModel(candidates=[Candidate(model=ScriptedChatModel(model=s.name), spec=s) for s in specs], router=router)
    ids = [chat.invoke(f"Question {i} for a journal about to be damaged").response_metadata["scope"]["run_id"] for i in range(10)]
    print(json.dumps({"ids": ids, "waiting": router.status().waiting}))
else:  # the damage shows when the journal is read: at open, or when its entries are replayed
    decision = router.route("Does routing go on after the damage?")
    router.replay_journal()
    print(json.dumps({"problems": router.status().problems, "routed": bool(decision.chosen)}))
"""


def journal_damage(bench: Bench, damage: str) -> dict:
    """A journal holding entries (the server was down), emptied to 0 bytes or overwritten in the middle while closed."""
    journal = bench.tmp / f"journal-{damage}.sqlite"
    specs = __import__("json").dumps([s.model_dump_json() for s in list(bench.router.models().values())[:3]])
    bench.server.kill()
    try:
        sent = python(_JOURNAL, bench.server.url, str(journal), "record", specs)
    finally:
        bench.server.start()
    for companion in ("-wal", "-shm"):
        Path(f"{journal}{companion}").unlink(missing_ok=True)
    if damage == "emptied":
        journal.write_bytes(b"")
    else:
        with open(journal, "r+b") as f:
            f.seek(4096)
            f.write(os.urandom(8192))
    seen = python(_JOURNAL, bench.server.url, str(journal), "open")
    calls = Calls(run_ids=sent["ids"], outcome_ids=sent["ids"])
    named = [p for p in seen["problems"] if str(journal) in p]
    return row(f"journal {'truncated to 0 bytes' if damage == 'emptied' else 'overwritten in the middle'} while "
               f"closed, holding {sent['waiting']} entries", bench.router.store, calls, **{
        "lost": f"{sent['waiting']} entries, named: {'yes' if named else '**NO**'}", "routing goes on": seen["routed"],
        "message": (named or ["-"])[0][:160],
    })  # fmt: skip
