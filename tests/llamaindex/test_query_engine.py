"""Query engines: a Chroma-backed VectorStoreIndex answering through ScopeLLM, and ScopeSelector."""

from __future__ import annotations

import uuid

import chromadb
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.query_engine import CustomQueryEngine, RouterQueryEngine
from llama_index.core.tools import QueryEngineTool
from llama_index.vector_stores.chroma import ChromaVectorStore

from scope_core import ModelSpec
from scope_llamaindex import ScopeEmbedding, ScopeSelector, capture_calls

DOCS = [
    "The Mistral is a cold north-westerly wind that blows through the Rhone valley.",
    "Sourdough bread rises thanks to wild yeast and lactic acid bacteria.",
    "The Fibonacci sequence starts 0, 1, 1, 2, 3, 5, 8, 13.",
]


def chroma_index(embedder) -> VectorStoreIndex:
    collection = chromadb.EphemeralClient().get_or_create_collection(f"docs-{uuid.uuid4().hex[:8]}")
    storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
    return VectorStoreIndex.from_documents(
        [Document(text=t) for t in DOCS], storage_context=storage, embed_model=ScopeEmbedding(embedder)
    )


async def test_a_vector_index_query_is_routed_recorded_and_scored(make_llm, router, cheap, strong, embedder):
    engine = chroma_index(embedder).as_query_engine(llm=make_llm(), similarity_top_k=1)
    with capture_calls() as calls:
        response = await engine.aquery("Which wind blows through the Rhone valley?")

    [call] = calls
    prompt = (cheap.calls + strong.calls)[0][1][-1].content
    assert "Mistral" in prompt and "Mistral" in str(response)  # the retrieved node reached the chosen model
    router.flush()
    assert router.store.outcome(call.run_id)["m"] == call.model
    router.feedback(call.run_id, 1.0)
    router.flush()
    assert router.store.outcome(call.run_id)["s"] == 1.0


def test_a_streaming_query_is_recorded_once(make_llm, router, embedder):
    engine = chroma_index(embedder).as_query_engine(llm=make_llm(), similarity_top_k=1, streaming=True)
    text = "".join(engine.query("How does sourdough bread rise?").response_gen)
    assert "wild yeast" in text
    router.flush()
    assert router.store.count_outcomes() == 1


class Answer(CustomQueryEngine):
    """A query engine that names itself in its answer."""

    label: str

    def custom_query(self, query_str: str) -> str:
        return f"{self.label}: {query_str}"


async def test_scope_selector_picks_the_engine_the_store_predicts_best(router, seed, make_llm):
    for name in ("calculator", "encyclopedia"):
        router.register_model(ModelSpec(name=name, input_price=1.0, output_price=1.0))
    seed([f"What is {n} times {n + 3}?" for n in range(2, 10)], {"calculator": 1.0, "encyclopedia": 0.0})
    seed(
        [f"Who was the king of France in {1600 + 20 * n}?" for n in range(8)], {"calculator": 0.0, "encyclopedia": 1.0}
    )
    tools = [
        QueryEngineTool.from_defaults(Answer(label=name), name=name, description=f"the {name}")
        for name in ("calculator", "encyclopedia")
    ]
    engine = RouterQueryEngine(selector=ScopeSelector(router), query_engine_tools=tools, llm=make_llm())

    assert str(engine.query("What is 12 times 15?")).startswith("calculator")
    with capture_calls() as calls:
        assert str(await engine.aquery("Who was the king of France in 1790?")).startswith("encyclopedia")
    router.feedback(calls[0].run_id, 1.0)
    router.flush()
    assert router.store.outcome(calls[0].run_id)["m"] == "encyclopedia"
