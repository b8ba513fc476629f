"""Agent steps priced the way providers bill them: session-aware routing against cache-blind routing.

Two agents with tools: a LangGraph agent (``langchain.agents.create_agent``, a thread per session) and a LlamaIndex
``FunctionAgent`` (a session per run, named with ``instrument_tags``), each over four scripted candidates whose
providers cache prompts as Anthropic's and OpenAI's do (``SimulatedPromptCache``: prefix caching that lives five
minutes from its last use, on a logical clock; Claude bills cache writes, OpenAI does not), priced by genai-prices.
Each session asks one question of one of four domains and takes 5-15 steps: tool calls (an archive search, a record
lookup, a calculator), then an answer; one tool call in twelve waits for a human for 6-20 minutes, past the caches'
lifetime. A step is right with a probability set by its model and domain (one uniform draw per step, shared by
every model: a better model is right wherever a worse one is); each step's score is fed back.

Per framework and mode, a fresh store is warmed up on ``--warmup`` sessions (each forced on one model, in turn),
then ``--sessions`` sessions are routed at each of ``--alphas``, session-aware (the default) or cache-blind
(``cache_aware=False``). Reported: per-step cost prediction error (median absolute percentage error of the
answering model's predicted cost against the billed cost) with cache awareness and, on the same predicted tokens,
at list prices; total billed cost and accuracy; how often the router stayed for the cache; routing time per step.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/agent_steps.py [--sessions 200] [--warmup 40] [--alphas 0.5,0.3,0.8]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import statistics
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from langchain.agents import create_agent
from langchain_core.tools import tool
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.instrumentation.dispatcher import instrument_tags
from llama_index.core.tools import FunctionTool

from scope_core import BehaviourStore, RouteOptions, Router, default_embedder
from scope_core.errors import ColdStartWarning
from scope_core.observe.record import LoggedDecision
from scope_core.prompt_cache import SimulatedPromptCache
from scope_core.routing.candidate import Candidate
from scope_core.routing.sessions import SessionBook
from scope_core.routing.steps import for_step
from scope_core.text.embedder import DEFAULT_CACHE_DIR, CachedEmbedder
from scope_langchain import ScopeChatModel
from scope_langchain.testing import ScriptedChatModel
from scope_llamaindex import ScopeLLM
from scope_llamaindex.testing import ScriptedLLM

OUT = Path(__file__).with_name("agent_steps.md")
MODELS = {  # name: (provider, cache style)
    "claude-3-5-sonnet": ("anthropic", "anthropic"),
    "claude-3-5-haiku-latest": ("anthropic", "anthropic"),
    "gpt-4o": ("openai", "openai"),
    "gpt-4o-mini": ("openai", "openai"),
}
DOMAINS = ("finance", "travel", "legal", "code")
P_RIGHT = {  # P(a step is right) by model and domain
    "claude-3-5-sonnet": (0.93, 0.96, 0.94, 0.95),
    "claude-3-5-haiku-latest": (0.82, 0.94, 0.76, 0.86),
    "gpt-4o": (0.90, 0.95, 0.88, 0.92),
    "gpt-4o-mini": (0.74, 0.93, 0.64, 0.78),
}
SYSTEM = "You are a careful analyst. Work only from tool results and cite them.\n" + "\n".join(
    f"Guideline {i}: check each figure against a second source and state the record identifiers you used."
    for i in range(60)
)
TOPICS = {
    "finance": "reconcile the quarterly ledger of account {n} against its bank statements",
    "travel": "plan a three-city rail trip for group {n} within the booked budget",
    "legal": "assess whether contract {n} allows early termination without penalty",
    "code": "find why service {n} times out under load and propose a fix",
}


def uniform(*parts: object) -> float:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class Clock:
    """The logical clock of the caches and the router's sessions."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


CLOCK = Clock()


# -- the tools: their results are long, and some calls wait for a human ---------------------------------------------
def _text(seed: str, words: int) -> str:
    rng = np.random.default_rng(int(uniform(seed) * 2**32))
    vocab = ("ledger", "entry", "amount", "record", "clause", "route", "latency", "budget", "section", "balance")
    return " ".join(
        f"{vocab[i]}-{j}" for i, j in zip(rng.integers(0, 10, words), rng.integers(0, 999, words), strict=True)
    )


def search_archive(query: str) -> str:
    """Search the archive; returns the matching documents."""
    return f"ARCHIVE results for {query}: " + _text(query, 300 + int(uniform("search", query) * 500))


def lookup_record(record_id: str) -> str:
    """Look up one record by its identifier."""
    if uniform("approval", record_id) < 1 / 12:
        CLOCK.now += 360 + uniform("wait", record_id) * 840  # a human approves the lookup: past the caches' lifetime
    return f"RECORD {record_id}: " + _text(record_id, 120 + int(uniform("record", record_id) * 200))


def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression."""
    return f"CALC {expression} = {uniform('calc', expression) * 1e4:.2f}"


TOOLS = (search_archive, lookup_record, calculator)


# -- the candidates: one script, four models --------------------------------------------------------------------
@dataclass(frozen=True)
class Session:
    index: int
    domain: str
    steps: int

    @property
    def question(self) -> str:
        topic = TOPICS[self.domain].format(n=self.index)
        return f"[{self.domain}] Case {self.index}: {topic}. Use the tools ({self.steps - 1} calls), then answer."


def sessions(n: int, offset: int = 0) -> list[Session]:
    return [
        Session(i, DOMAINS[int(uniform("domain", i) * 4)], 5 + int(uniform("steps", i) * 11))
        for i in range(offset, offset + n)
    ]


def _role(m: Any) -> str:
    return getattr(m, "type", None) or m.role.value


def reply(messages: list[Any], tools: list[str]) -> str | tuple[str, list[dict[str, Any]]]:
    """Every candidate follows the question's plan: its tool calls one by one, then the answer."""
    question = next(m for m in reversed(messages) if _role(m) in ("human", "user"))
    text = getattr(question, "text", None) or question.content
    case, calls = int(text.split("Case ")[1].split(":")[0]), int(text.split("(")[-1].split(" calls")[0])
    done = sum(_role(m) == "tool" for m in messages)
    CLOCK.now += 1.5 + 4 * uniform("think", case, done)  # the model's own time
    if done < calls:
        name = TOOLS[int(uniform("tool", case, done) * 3)].__name__
        args = {
            "search_archive": {"query": f"case {case} part {done}"},
            "lookup_record": {"record_id": f"R{case}-{done}"},
        }
        return "", [{"name": name, "args": args.get(name, {"expression": f"{case} * {done + 2} / 7"})}]
    return f"Answer for case {case}: " + _text(f"answer {case}", 60 + int(uniform("answer", case) * 140)), []


def candidates(framework: str) -> list[Candidate]:
    caches = {style: SimulatedPromptCache(style, clock=CLOCK) for style in ("anthropic", "openai")}
    make = ScriptedChatModel if framework == "langgraph" else ScriptedLLM
    return [
        Candidate.of(make(model=name, reply=reply, cache=caches[style]), provider=provider, capabilities={"tools"})
        for name, (provider, style) in MODELS.items()
    ]


# -- one framework, one mode ------------------------------------------------------------------------------------
def run_sessions(framework: str, router: Router, todo: list[Session], **routing: Any) -> list[list[LoggedDecision]]:
    """Route every step of each session; feed back each step's score; the sessions' decision records."""
    pool = candidates(framework)
    if framework == "langgraph":
        agent = create_agent(
            ScopeChatModel(router=router, candidates=pool, **routing), [tool(t) for t in TOOLS], system_prompt=SYSTEM
        )
    else:
        llm = ScopeLLM(router=router, candidates=pool, **routing)
        agent = FunctionAgent(tools=[FunctionTool.from_defaults(t) for t in TOOLS], llm=llm, system_prompt=SYSTEM)
    out = []
    for s in todo:
        name = f"{framework}-{s.index}"
        if framework == "langgraph":
            agent.invoke({"messages": [("user", s.question)]}, {"configurable": {"thread_id": name}})
        else:
            with instrument_tags({"session_id": name}):
                asyncio.run(_li_run(agent, s.question))
        CLOCK.now += 1800  # the next session starts half an hour later
        steps = router.history(session_id=name)
        for i, d in enumerate(steps):
            right = uniform("right", s.index, i) < P_RIGHT[d.model][DOMAINS.index(s.domain)]
            router.feedback(d.run_id, float(right), wait=False)
            steps[i] = d.model_copy(update={"score": float(right)})
        router.flush()  # the next session routes on everything this one taught, however fast the writer was
        out.append(steps)
    return out


async def _li_run(agent: FunctionAgent, question: str) -> None:
    await agent.run(user_msg=question, max_iterations=40)


def run_mode(framework: str, aware: bool, alpha: float, args: argparse.Namespace, embedder) -> dict[str, Any]:
    """A fresh store warmed up on forced sessions, then the sessions routed at ``alpha``: their summary."""
    with tempfile.TemporaryDirectory() as tmp:
        router = Router(
            BehaviourStore.ephemeral(),
            embedder=embedder,
            sessions=SessionBook(clock=CLOCK),
            journal=Path(tmp) / "journal",
        )
        warm = sessions(args.warmup, offset=100_000)
        for i, model in enumerate(MODELS):
            run_sessions(framework, router, warm[i :: len(MODELS)], model=model)
        done = run_sessions(framework, router, sessions(args.sessions), alpha=alpha, cache_aware=aware)
        summary = summarise(done, router)
        if framework == "langgraph" and aware and alpha == args.alphas[0]:
            summary["timing"] = routing_time(router)
        router.store.drop()
    return summary


def routing_time(router: Router, pairs: int = 200) -> dict[str, float]:
    """Routing time per step: a new query's route (embedding and search included, wall clock), and what session
    awareness adds to it: the same query routed again session-aware and cache-blind in turn (embedding and search
    reused; CPU time, steadier than the wall clock on a shared machine); and the session's own part (plan and
    pricing) of a 15-step conversation, in microseconds."""
    full, added, run = [], [], time.time_ns()  # queries new to every run: their embeddings are not cached
    for i in range(pairs):
        turns = [("system", SYSTEM), ("user", f"question {i} of run {run}")] + [
            ("tool", _text(f"t{i}-{j}", 300)) for j in range(1 + i % 14)
        ]
        t = time.perf_counter()
        router.route(turns, session_id=f"timing-{i}", cache_aware=False, alpha=0.5)
        full.append((time.perf_counter() - t) * 1000)
        spent = {}
        for aware in (i % 2 == 0, i % 2 == 1):
            t = time.process_time()
            router.route(turns, session_id=f"timing-{i}", cache_aware=aware, alpha=0.5)
            spent[aware] = (time.process_time() - t) * 1000
        added.append(spent[True] - spent[False])
    specs = {s.name: s for s in router.models().values()}
    estimates = router.route(turns, cache_aware=False).estimates
    t, n = time.perf_counter(), 300
    for _ in range(n):
        step = router.sessions.plan(RouteOptions(session_id="timing-0"), turns, list(specs.values()), 9000)
        for_step(estimates, specs, step, {})
    session_us = (time.perf_counter() - t) / n * 1e6
    return {"route_ms": statistics.median(full), "added_ms": statistics.median(added), "session_us": session_us}


def summarise(done: list[list[LoggedDecision]], router: Router) -> dict[str, Any]:
    specs = router.models()
    steps = [d for session in done for d in session]
    errors: dict[str, list[float]] = {"aware": [], "list": [], "later": []}
    for session in done:
        for i, d in enumerate(session):
            p = d.predictions[d.model]
            errors["aware"].append(abs(p.cost_usd - d.cost_usd) / d.cost_usd)
            errors["list"].append(abs(specs[d.model].cost(p.input_tokens, p.output_tokens) - d.cost_usd) / d.cost_usd)
            if i:
                errors["later"].append(errors["aware"][-1])
    return {
        "sessions": len(done),
        "steps": len(steps),
        **{f"mdape_{k}": 100 * statistics.median(v) for k, v in errors.items()},
        "cost": sum(d.cost_usd for d in steps),
        "accuracy": statistics.mean(d.score for d in steps),
        "stayed": 100 * sum("stayed on" in d.reason for d in steps) / len(steps),
        "switches": 100 * sum(a.model != b.model for s in done for a, b in itertools.pairwise(s)) / len(steps),
        "models": {m: sum(d.model == m for d in steps) for m in MODELS},
    }


def _mode(aware: bool) -> str:
    return "session-aware" if aware else "cache-blind"


def at_equal_accuracy(results: dict[tuple[str, float, bool], dict[str, Any]], framework: str) -> list[str]:
    """Each session-aware point against the cache-blind cost at its accuracy (linear between cache-blind points)."""
    blind = sorted((r["accuracy"], r["cost"]) for (f, _, aware), r in results.items() if f == framework and not aware)
    lines = []
    for (f, alpha, aware), r in results.items():
        if f != framework or not aware:
            continue
        if blind[0][0] <= r["accuracy"] <= blind[-1][0] and len(blind) > 1:
            cost = float(np.interp(r["accuracy"], [a for a, _ in blind], [c for _, c in blind]))
            lines.append(
                f"- {framework}, alpha {alpha}: accuracy {r['accuracy']:.3f} for ${r['cost']:.2f}; cache-blind routing "
                f"reaches that accuracy for about ${cost:.2f} (interpolated between its alphas)"
            )
        else:
            lines.append(
                f"- {framework}, alpha {alpha}: accuracy {r['accuracy']:.3f} for ${r['cost']:.2f}; outside the "
                f"accuracies cache-blind routing reached ({blind[0][0]:.3f} to {blind[-1][0]:.3f})"
            )
    return lines


def write_report(results: dict[tuple[str, float, bool], dict[str, Any]], args: argparse.Namespace) -> str:
    alphas = ",".join(map(str, args.alphas))
    lines = [
        "# Agent steps: session-aware routing against cache-blind routing",
        "",
        f"`benchmarks/agent_steps.py --sessions {args.sessions} --warmup {args.warmup} --alphas {alphas}` "
        "(what it simulates: the script's docstring). Per framework, alpha and mode: a fresh store warmed up on "
        f"the same {args.warmup} forced sessions, then the same {args.sessions} sessions routed. Costs are what the "
        "simulated providers bill, priced by genai-prices (cache reads and writes included); accuracy is the "
        "fakes' (the mean step score). Prediction error: median absolute percentage error of the answering "
        "model's predicted cost against its billed cost, per step; *at list prices* prices the same predicted "
        "tokens without the cache; *later steps* leaves out each session's first.",
        "",
        "| framework | alpha | routing | steps | prediction error | at list prices | later steps | total cost | "
        "accuracy | stayed for the cache | model switches |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (framework, alpha, aware), r in results.items():
        lines.append(
            f"| {framework} | {alpha} | {_mode(aware)} | {r['steps']} | {r['mdape_aware']:.1f}% | "
            f"{r['mdape_list']:.1f}% | {r['mdape_later']:.1f}% | ${r['cost']:.2f} | {r['accuracy']:.3f} | "
            f"{r['stayed']:.1f}% | {r['switches']:.1f}% |"
        )
    lines += ["", "Cost at equal accuracy:", ""]
    for framework in dict.fromkeys(f for f, _, _ in results):
        lines += at_equal_accuracy(results, framework)
    lines += ["", "Steps answered per model:", "", "| framework | alpha | routing | " + " | ".join(MODELS) + " |"]
    lines.append("|---|---|---|" + "---|" * len(MODELS))
    for (framework, alpha, aware), r in results.items():
        lines.append(
            f"| {framework} | {alpha} | {_mode(aware)} | " + " | ".join(str(r["models"][m]) for m in MODELS) + " |"
        )
    timing = next(r["timing"] for r in results.values() if "timing" in r)
    lines += [
        "",
        f"Routing time per step, on LangGraph's store after its run (200 new queries of 1-14 tool results): "
        f"{timing['route_ms']:.1f} ms p50 for a new query (embedding and search included; wall clock on a shared "
        f"2-core machine). Session awareness adds {timing['added_ms']:+.2f} ms p50 (the same queries routed again, "
        f"session-aware and cache-blind in turn, CPU time); its own part, planning and pricing a 15-step "
        f"conversation's step, takes {timing['session_us']:.0f} µs.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200, help="routed sessions per framework, alpha and mode")
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--alphas", type=lambda v: [float(a) for a in v.split(",")], default=[0.5, 0.3, 0.8])
    parser.add_argument("--frameworks", default="langgraph,llamaindex")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ColdStartWarning)
    embedder = CachedEmbedder(default_embedder().inner, max_size=200_000, path=DEFAULT_CACHE_DIR)  # same steps
    results = {}
    for framework in args.frameworks.split(","):
        for alpha in args.alphas:
            for aware in (True, False):
                t = time.perf_counter()
                r = results[(framework, alpha, aware)] = run_mode(framework, aware, alpha, args, embedder)
                shown = {k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}
                print(framework, alpha, _mode(aware), f"{time.perf_counter() - t:.0f} s", shown, flush=True)
    OUT.write_text(write_report(results, args))
    print(OUT.read_text())


if __name__ == "__main__":
    main()
