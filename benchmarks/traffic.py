"""A day of traffic: two processes, a LangChain agent and a LlamaIndex query engine, route calls through one real
`chroma run` server, each under a budget governor, over fake candidates that answer as routerbench-3k's models did
(their recorded answers, so their recorded correctness); feedback scores a share of the calls. Then the report
(checked against a recomputation from ``router.history()``), the dashboard's screenshot and the cost of logging
a decision go to benchmarks/traffic.md and benchmarks/dashboard.png.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/traffic.py [--calls 2000] [--feedback 0.3] [--seed-prompts 1000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SCOPE_JOURNAL_DIR", tempfile.mkdtemp(prefix="scope-traffic-journal-"))

from scope_core import BudgetGovernor, Capability, Router, default_embedder, load_dataset  # noqa: E402
from scope_core.data.dataset import Dataset  # noqa: E402
from scope_core.routing.candidate import Candidate  # noqa: E402
from tests.chroma_server import ChromaServer  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "routerbench-3k"
TOOLS = frozenset({Capability.TOOLS})


def answers(dataset: Dataset) -> dict[str, dict[str, tuple[str, float]]]:
    """Per prompt text, per model: the recorded answer and its score."""
    text = {p.id: p.text for p in dataset.prompts}
    out: dict[str, dict[str, tuple[str, float]]] = {}
    for o in dataset.outcomes:
        out.setdefault(text[o.prompt_id], {})[o.model] = (o.response or "(no answer)", o.score)
    return out


def _question(messages: list[Any]) -> str:
    return next(m.text if hasattr(m, "text") else str(m.content) for m in messages if _role(m) in ("human", "user"))


def _role(message: Any) -> str:
    return getattr(message, "type", None) or str(getattr(message, "role", ""))


def run_langchain(url: str, dataset: Dataset, prompts: list[str], calls: int, feedback: float, budget: float) -> dict:
    """A LangGraph agent with a tool, each of its steps routed; feedback on a share of the runs."""
    from langchain.agents import create_agent
    from langchain_core.tools import tool

    from scope_langchain import ScopeChatModel, ScopeFeedbackHandler
    from scope_langchain.testing import ScriptedChatModel

    recorded = answers(dataset)

    def replier(model: str):
        def reply(messages, tools):
            question = _question(messages)
            if tools and messages[-1].type == "human" and len(question) % 4 == 0:
                return "", [{"name": "lookup", "args": {"topic": question[:40]}}]
            return recorded[question][model][0]

        return reply

    @tool
    def lookup(topic: str) -> str:
        """Look a topic up in the reference notes."""
        return f"Notes on {topic}: see the question."

    router = Router.open(url, embedder=default_embedder(disk_cache=True))
    pool = [
        Candidate(model=ScriptedChatModel(model=m, reply=replier(m)), spec=dataset.specs[m].model_copy(update={"capabilities": TOOLS}))
        for m in dataset.models
    ]  # fmt: skip
    governor = BudgetGovernor(budget_usd=budget, expected_calls=calls)
    agent = create_agent(ScopeChatModel(candidates=pool, router=router, budget=governor), tools=[lookup])
    routed, rng = 0, random.Random(1)
    for i, prompt in enumerate(prompts):
        if routed >= calls:
            break
        handler = ScopeFeedbackHandler(router)
        config = {"callbacks": [handler], "tags": ["agent"], "configurable": {"thread_id": f"agent-{i}"}}
        result = agent.invoke({"messages": [("user", prompt)]}, config=config)
        routed += len(handler.run_ids)
        if rng.random() < feedback:
            model = result["messages"][-1].response_metadata["model_name"]
            handler.feedback(recorded[prompt][model][1])
    router.flush()
    return {"routed": routed, "spent": governor.spent}


def run_llamaindex(url: str, dataset: Dataset, prompts: list[str], calls: int, feedback: float, budget: float) -> dict:
    """A LlamaIndex query engine over a small vector index, its answer routed; feedback on a share of the queries."""
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.instrumentation.dispatcher import instrument_tags

    from scope_llamaindex import ScopeEmbedding, ScopeLLM, capture_calls
    from scope_llamaindex.testing import ScriptedLLM

    recorded = answers(dataset)
    by_query = {p.strip(): p for p in prompts}

    def replier(model: str):
        def reply(messages, tools):  # the query engine's template: "...Query: {query}\nAnswer: "
            asked = str(messages[-1].content).rsplit("Query: ", 1)[-1].rsplit("\nAnswer:", 1)[0].strip()
            return recorded[by_query[asked]][model][0]

        return reply

    router = Router.open(url, embedder=default_embedder(disk_cache=True))
    pool = [
        Candidate(
            model=ScriptedLLM(model=m, reply=replier(m)),
            spec=dataset.specs[m].model_copy(update={"capabilities": TOOLS}),
        )
        for m in dataset.models
    ]  # fmt: skip (one spec per model in the shared registry: the agent's tools need the capability)
    governor = BudgetGovernor(budget_usd=budget, expected_calls=calls)
    llm = ScopeLLM(candidates=pool, router=router, budget=governor)
    notes = [Document(text=f"Reference note {i}: answer the question asked, exactly as it asks.") for i in range(20)]
    engine = VectorStoreIndex.from_documents(notes, embed_model=ScopeEmbedding()).as_query_engine(llm=llm)
    routed, rng = 0, random.Random(2)
    for i, prompt in enumerate(prompts):
        if routed >= calls:
            break
        query = prompt.strip()
        with capture_calls() as seen, instrument_tags({"session_id": f"query-{i}", "team": "search"}):
            engine.query(query)
        routed += len({c.run_id.split(":")[0] for c in seen})
        answered = [c for c in seen if c.error is None]
        if answered and rng.random() < feedback:
            router.feedback(answered[-1].run_id, recorded[prompt][answered[-1].model][1])
    router.flush()
    return {"routed": routed, "spent": governor.spent}


def _worker(kind: str, url: str, prompts: list[str], calls: int, feedback: float, budget: float, out) -> None:
    dataset = load_dataset(DATA)
    run = run_langchain if kind == "langchain" else run_llamaindex
    try:
        out.put((kind, run(url, dataset, prompts, calls, feedback, budget)))
    except BaseException as exc:
        out.put((kind, {"error": f"{type(exc).__name__}: {exc}"}))
        raise


def recompute(rows: list[Any]) -> dict[str, Any]:
    """The report's main figures from ``router.history()`` rows, with plain loops (the check of ``scope report``)."""
    answered = [r for r in rows if r.model is not None]
    per_model: dict[str, dict[str, float]] = {}
    for r in answered:
        line = per_model.setdefault(r.model, {"calls": 0, "spend_usd": 0.0})
        line["calls"] += 1
        line["spend_usd"] += r.cost_usd if r.cost_usd is not None else r.predictions[r.model].cost_usd
    scored = [r for r in answered if r.score is not None]
    governors = {r.budget["id"]: r.budget["budget_usd"] for r in rows if r.budget}
    return {
        "budget_usd": sum(governors.values()) if governors else None,
        "calls": len(rows),
        "answered": len(answered),
        "spend_usd": sum(m["spend_usd"] for m in per_model.values()),
        "models": per_model,
        "scored": len(scored),
        "fallback_rate": sum(r.model != r.chosen for r in answered) / len(answered) if answered else None,
        "saved_vs_dearest_usd": sum(
            max(p.cost_usd for p in r.predictions.values() if p.excluded is None)
            - (r.cost_usd if r.cost_usd is not None else r.predictions[r.model].cost_usd)
            for r in answered
        ),
    }


def agrees(report: dict[str, Any], mine: dict[str, Any]) -> bool:
    """Whether ``scope report --json`` says what the recomputation says."""
    close = lambda a, b: abs(a - b) <= 1e-9 * max(1.0, abs(b))  # noqa: E731
    models = {m["model"]: m for m in report["models"] if m["calls"]}
    return (
        (report["calls"], report["answered"], report["scored"]) == (mine["calls"], mine["answered"], mine["scored"])
        and close(report["spend_usd"], mine["spend_usd"])
        and close(report["budget_usd"] or 0.0, mine["budget_usd"] or 0.0)
        and close(report["savings"]["saved_vs_dearest_usd"], mine["saved_vs_dearest_usd"])
        and close(report["fallback_rate"] or 0.0, mine["fallback_rate"] or 0.0)
        and set(models) == set(mine["models"])
        and all(models[m]["calls"] == v["calls"] and close(models[m]["spend_usd"], v["spend_usd"]) for m, v in mine["models"].items())
    )  # fmt: skip


def screenshot(url: str, path: Path) -> bool:
    """A PNG of the dashboard over the server's store (False without a browser)."""
    import socket
    import threading

    import uvicorn

    from scope_core.observe.dashboard import create_app
    from scope_core.store.behaviour import BehaviourStore

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return False
    chromium = "/usr/bin/chromium"
    if not os.access(chromium, os.X_OK):
        return False
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(BehaviourStore.open(url)), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu",
                                        "--disable-dev-shm-usage", "--disable-background-networking"])  # fmt: skip
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            page.goto(f"http://127.0.0.1:{sock.getsockname()[1]}/")
            page.wait_for_selector("#spend .main-svg", timeout=60_000)
            page.wait_for_function("document.body.dataset.calls !== undefined", timeout=60_000)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(path), full_page=False)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(5)
    return True


def logging_cost(calls: int) -> tuple[float, float]:
    """p50 ms on the caller's thread of ending a routed call, with its decision logged and without."""
    from scope_core import BehaviourStore, ModelSpec
    from scope_langchain import ScopeChatModel
    from scope_langchain.testing import ScriptedChatModel

    router = Router(BehaviourStore.ephemeral(), embedder=default_embedder(disk_cache=True))
    specs = [ModelSpec(name=f"m{i}", input_price=0.1 * (i + 1), output_price=0.3 * (i + 1)) for i in range(11)]
    chat = ScopeChatModel(
        candidates=[Candidate(model=ScriptedChatModel(model=s.name), spec=s) for s in specs], router=router
    )
    timed: dict[bool, list[float]] = {True: [], False: []}
    ended = router.records.attempt_ended

    def attempt_ended(call, attempt, score, final, log=[True]):  # noqa: B006  (toggled per call)
        t = time.perf_counter()
        ended(call, attempt, score, final and log[0])
        timed[log[0]].append((time.perf_counter() - t) * 1000)
        log[0] = not log[0]

    router.records.attempt_ended = attempt_ended
    for i in range(calls):
        chat.invoke(f"Question {i}: what is {i} times {i + 3}?")
    router.flush()
    return statistics.median(timed[True]), statistics.median(timed[False])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="routed calls in all, half per process")
    parser.add_argument("--feedback", type=float, default=0.3, help="share of runs scored")
    parser.add_argument("--seed-prompts", type=int, default=1000, help="routerbench-3k prompts ingested first")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "traffic.md")
    args = parser.parse_args()
    dataset = load_dataset(DATA)
    rng = random.Random(0)
    ids = [p.id for p in dataset.prompts]
    rng.shuffle(ids)
    seed, rest = ids[: args.seed_prompts], ids[args.seed_prompts :]
    text = {p.id: p.text for p in dataset.prompts}
    best = max(dataset.models, key=lambda m: sum(o.score for o in dataset.outcomes if o.model == m))
    per_call = statistics.mean(o.cost_usd or 0.0 for o in dataset.outcomes if o.model == best)
    budget = 0.5 * per_call * args.calls / 2  # each process: half of what always the best model would cost
    tmp = Path(tempfile.mkdtemp(prefix="scope-traffic-"))
    server = ChromaServer(tmp / "chroma")
    server.start()
    started = time.time()
    try:
        router = Router.open(server.url, embedder=default_embedder(disk_cache=True), timeout_s=60.0)
        router.ingest(dataset.subset(seed), progress=False)
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        halves = {"langchain": [text[i] for i in rest[::2]], "llamaindex": [text[i] for i in rest[1::2]]}
        workers = [ctx.Process(target=_worker, args=(kind, server.url, prompts, args.calls // 2, args.feedback, budget, out))
                   for kind, prompts in halves.items()]  # fmt: skip
        for w in workers:
            w.start()
        done = dict(out.get() for _ in workers)
        for w in workers:
            w.join()
        if failed := {k: v["error"] for k, v in done.items() if "error" in v}:
            raise SystemExit(f"a traffic process failed: {failed}")
        traffic_s = time.time() - started
        report_path = tmp / "report.json"
        command = [sys.executable, "-m", "scope_core.cli", "report", "--store", server.url, "--json", str(report_path)]
        shown = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "COLUMNS": "100"})
        report = json.loads(report_path.read_text())
        rows = router.history()
        same = agrees(report, recompute(rows))
        processes = sorted({"agent" if "agent" in r.tags else "query engine" for r in rows})
        pictured = screenshot(server.url, ROOT / "benchmarks" / "dashboard.png")
    finally:
        server.stop()
    with_log, without = logging_cost(300)
    lines = [
        "# A day of traffic",
        "",
        f"`HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/traffic.py --calls {args.calls} --feedback {args.feedback} "
        f"--seed-prompts {args.seed_prompts}` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores).",
        "",
        f"One `chroma run` server on loopback, seeded with {args.seed_prompts} routerbench-3k prompts x 11 models. Two "
        "processes route the other prompts: a LangChain agent (`create_agent`, one tool; every step routed) and a "
        "LlamaIndex query engine over a small vector index. The candidates are local fakes answering as routerbench's "
        "models did (their recorded answers), so feedback scores are the recorded correctness of the model that "
        f"answered; {args.feedback:.0%} of runs get one. Each process runs under a budget governor of "
        f"${budget:.2f} (half of what always the best model, {best}, would cost).",
        "",
        f"Routed calls: LangChain agent {done['langchain']['routed']} (governor spent ${done['langchain']['spent']:.4f}), "
        f"LlamaIndex {done['llamaindex']['routed']} (spent ${done['llamaindex']['spent']:.4f}); "
        f"{traffic_s:.0f} s in all. Both processes in one report: {', '.join(processes)}.",
        "",
        f"`scope report --json` equals the recomputation from `router.history()` rows: **{'yes' if same else 'NO'}**.",
        "",
        "## `scope report`",
        "",
        "```",
        shown.stdout.rstrip(),
        "```",
        "",
        "## The dashboard",
        "",
        "![dashboard](dashboard.png)" if pictured else "(no browser on this machine: no screenshot)",
        "",
        "## What logging a decision costs",
        "",
        f"Ending a routed call on the caller's thread (its outcome journaled, fsync'd), p50 over 150 calls each, "
        f"interleaved: {with_log:.2f} ms with the decision record built and journaled with it, {without:.2f} ms "
        f"without: **{with_log - without:+.2f} ms** per call.",
        "",
    ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
