"""A VectorStoreIndex (Chroma + local MiniLM embeddings) whose answers are routed by ScopeLLM. Runs offline.

With real models, swap the ScriptedLLMs for e.g. ``OpenAI(model="gpt-4o-mini")`` and ``OpenAI(model="gpt-4o")``.
Run: HF_HUB_OFFLINE=1 .venv/bin/python examples/llamaindex_query_engine.py
"""

from __future__ import annotations

import chromadb
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.vector_stores.chroma import ChromaVectorStore

from scope_core import BehaviourStore, Router
from scope_llamaindex import ScopeEmbedding, ScopeLLM, capture_calls, llm_candidate
from scope_llamaindex.testing import ScriptedLLM


def main() -> None:
    router = Router(BehaviourStore.ephemeral())  # Router.open("~/.scope/store") keeps what it learns
    llm = ScopeLLM(
        router=router,
        candidates=[
            llm_candidate("small", ScriptedLLM(model="small"), 0.15, 0.6),
            llm_candidate("large", ScriptedLLM(model="large"), 2.5, 10.0),
        ],
        alpha=0.5,
    )
    collection = chromadb.EphemeralClient().get_or_create_collection("example-docs")
    index = VectorStoreIndex.from_documents(
        [
            Document(text="The Mistral is a cold north-westerly wind of the Rhone valley."),
            Document(text="Sourdough rises thanks to wild yeast and lactic acid bacteria."),
        ],
        storage_context=StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection)),
        embed_model=ScopeEmbedding(),
    )
    engine = index.as_query_engine(llm=llm, similarity_top_k=1)

    with capture_calls() as calls:
        response = engine.query("Which wind blows through the Rhone valley?")
    call = calls[-1]
    print("answer:", str(response)[:120])
    print("routed to:", call.model, "|", call.decision.reason)
    print(f"cost: ${call.cost_usd:.8f}  tokens: {call.input_tokens} in / {call.output_tokens} out")
    router.feedback(call.run_id, 1.0)  # a judge, a user's thumbs-up or a test: the router learns from it
    print("stored outcomes:", router.store.count_outcomes())


if __name__ == "__main__":
    main()
