"""Bad input on purpose: each is one clear library error naming the problem, and the store is unchanged."""

from __future__ import annotations

import gzip
import json

import pytest

from scope_core import (
    BudgetGovernor,
    Candidate,
    ModelSpec,
    Outcome,
    RouteOptions,
    Router,
    Turn,
    load_dataset,
    text_hash,
)
from scope_core.errors import InvalidInputError
from scope_core.text.checks import MAX_PROMPT_CHARS


def _counts(router: Router) -> tuple[int, int]:
    return router.store.count_prompts(), router.store.count_outcomes()


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        (b"What is 2+2?", "must be str, got bytes"),
        ("What is \ud800 2+2?", "lone surrogate"),
        (["What is 2+2?"], "conversation item 0 is str"),
        ([Turn("user", "hi"), {"role": "boss", "content": "x"}], "conversation item 1 has role 'boss'"),
        ([Turn("user", "hi"), object()], "conversation item 1 is object"),
        ([Turn("user", "bad \udfff")], "conversation item 0 content is not valid Unicode"),
        ([], "empty conversation"),
        ("   ", "empty"),
        (42, "got int"),
    ],
)
def test_bad_queries_are_refused_by_route_naming_the_problem(router: Router, query, problem):
    with pytest.raises(InvalidInputError, match=problem):
        router.route(query)


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "text is empty"), ("  \n", "text is empty"), (b"hi", "got bytes"), ("x\ud800y", "lone surrogate")],
)
def test_record_call_refuses_bad_texts_and_stores_nothing(router: Router, text, problem):
    decision = router.route("Say hello to my friend number 40")
    before = _counts(router)
    with pytest.raises(InvalidInputError, match=problem):
        router.record_call(decision, text, decision.chosen, score=1.0)
    assert _counts(router) == before


def test_a_one_megabyte_prompt_is_routed_and_recorded_on_its_tail(router: Router):
    router.register_model(ModelSpec(name="wide", input_price=1, output_price=2, context_window=2_000_000))
    prompt = "Background paragraph about nothing much. " * 25_000 + "\n\nCompute the integral of x^30 times sin(x)"
    assert len(prompt) > 1_000_000
    decision = router.route(prompt, alpha=1.0)
    assert decision.input_tokens > 150_000, "cost and context fit count the whole prompt"
    assert decision.chosen == "wide" and "context window" in decision.excluded["large"]
    outcome = router.record_call(decision, prompt, "wide", input_tokens=decision.input_tokens, output_tokens=5)
    assert outcome.prompt_hash == text_hash(prompt[-MAX_PROMPT_CHARS:]) == decision.query_hash
    assert router.store.outcome(outcome.id)["it"] == decision.input_tokens


def test_error_texts_are_scrubbed_before_they_are_stored(router: Router):
    decision = router.route("Say hello to my friend number 41")
    leaked = "HTTPError 401 https://api.example.com/v1/chat?key=AIzaSyD-abcdefghijklmnopqrstuv (Authorization: Bearer sk-proj-1234567890abcdef)"
    router.record_call(decision, "Say hello to my friend number 41", "small", error=leaked, run_id="leak")
    stored = router.store.outcome("leak")["err"]
    assert "AIzaSy" not in stored and "sk-proj" not in stored and stored.count("[REDACTED]") == 2
    assert "HTTPError 401 https://api.example.com/v1/chat?key=" in stored, "the rest of the message stays"


def test_store_prompts_false_is_reachable_from_router_open(embedder, pool):
    router = Router.open(":memory:", name="private-open", store_prompts=False, embedder=embedder)
    router.register_model(pool[0])
    decision = router.route("My account number is 12345, what is my balance?")
    router.record_call(decision, "My account number is 12345, what is my balance?", "small", score=1.0)
    assert router.store.count_prompts() == 1 and router.store.prompt_texts() == {}
    router.store.drop()


def test_store_prompts_false_is_reachable_from_scope_chat_model(tmp_path, monkeypatch, embedder):
    from scope_core import Candidate, ModelSpec
    from scope_langchain import ScopeChatModel
    from scope_langchain.testing import ScriptedChatModel

    monkeypatch.setattr("scope_core.routing.router.default_embedder", lambda: embedder)
    spec = ModelSpec(name="small", input_price=0.1, output_price=0.4)
    chat = ScopeChatModel(
        location=str(tmp_path / "store"),
        store_prompts=False,
        candidates=[Candidate(model=ScriptedChatModel(), spec=spec)],
    )
    chat.invoke("My account number is 12345, what is my balance?")
    chat.flush()
    assert chat.router.store.count_outcomes() == 1 and chat.router.store.prompt_texts() == {}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ModelSpec(name="a/../b", input_price=1, output_price=1), "model name 'a/../b' is not allowed"),
        (lambda: ModelSpec(name="gpt\x00-4", input_price=1, output_price=1), r"model name 'gpt\\x00-4' is not allowed"),
        (
            lambda: ModelSpec(name="/etc/passwd", input_price=1, output_price=1),
            "model name '/etc/passwd' is not allowed",
        ),
        (
            lambda: ModelSpec(name="m", input_price=float("nan"), output_price=1),
            r"input_price: must be a finite number \(got nan\)",
        ),
        (
            lambda: ModelSpec(name="m", input_price=1, output_price=1, context_window=0),
            r"context_window: must be greater than 0 \(got 0\)",
        ),
        (lambda: Outcome(prompt="p", model="m", score=float("nan")), r"score: must be a finite number \(got nan\)"),
        (
            lambda: Outcome(prompt="p", model="m", output_tokens=-3),
            r"output_tokens: must be greater than or equal to 0 \(got -3\)",
        ),
        (
            lambda: Outcome(prompt="p", model="m", cost_usd=float("inf")),
            r"cost_usd: must be a finite number \(got inf\)",
        ),
        (lambda: Outcome(model="m"), "an Outcome needs prompt or prompt_hash"),
        (lambda: RouteOptions(alpha=float("nan")), r"alpha: must be a finite number \(got nan\)"),
        (lambda: RouteOptions.build(max_cost=-1), r"max_cost: must be greater than 0 \(got -1\)"),
        (lambda: RouteOptions.build({"alpah": 0.3}), "unknown routing option 'alpah'; did you mean 'alpha'"),
        (lambda: BudgetGovernor(-1.0, 10), "budget_usd must be a positive number, got -1.0"),
        (lambda: Candidate(model=object(), spec="large"), "spec: "),
    ],
)
def test_every_bad_value_of_the_python_api_is_one_invalid_input_line(make, message):
    with pytest.raises(InvalidInputError, match=message) as raised:
        make()
    assert "\n" not in str(raised.value) and "pydantic" not in str(raised.value)


def test_bad_values_through_the_router_are_invalid_input_lines(router: Router):
    for call, message in (
        (lambda: router.route("hi", alpha=float("nan")), "alpha: must be a finite number"),
        (lambda: router.feedback("run", 2.0), r"score must be a number in \[0, 1\], got 2.0"),
        (lambda: router.register_model(ModelSpec(name="x y", input_price=1, output_price=1)), "model name 'x y'"),
    ):
        with pytest.raises(InvalidInputError, match=message):
            call()


def test_a_models_json_key_nobody_reads_is_named(tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "prompts.csv.gz").write_bytes(gzip.compress(b"prompt_id,prompt\np1,What is 2+2?\n"))
    (folder / "outcomes.csv.gz").write_bytes(gzip.compress(b"prompt_id,model,score\np1,m,1\n"))
    (folder / "models.json").write_text(json.dumps({"prices_usd_per_mtoks": {"m": {"input": 1, "output": 2}}}))
    with pytest.raises(
        InvalidInputError, match=r"unknown key 'prices_usd_per_mtoks' \(did you mean 'prices_usd_per_mtok'\?"
    ):
        load_dataset(folder)
    (folder / "models.json").write_text(json.dumps({"prices_usd_per_mtok": {"m": {"inputs": 1, "output": 2}}}))
    with pytest.raises(InvalidInputError, match="field 'm': a price entry must be"):
        load_dataset(folder)
    (folder / "models.json").write_text(json.dumps({"note": "prices from the vendor's page", "models": ["m"]}))
    assert load_dataset(folder).models == ["m"]
    (folder / "outcomes.csv.gz").write_bytes(gzip.compress(b"prompt_id,model,score\np1,../../m,1\n"))
    with pytest.raises(InvalidInputError, match=r"row 2, field 'model': model name '\.\./\.\./m' is not allowed"):
        load_dataset(folder)
