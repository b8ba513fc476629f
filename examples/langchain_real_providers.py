"""Using real providers: any LangChain chat model is a candidate (here langchain-openai, if installed).

Run: OPENAI_API_KEY=... .venv/bin/python examples/langchain_real_providers.py
Prices are USD per 1M tokens; the router learns each model's accuracy from the outcomes it records
(and from `router.feedback(run_id, score)`), or from an ingested data set (`scope ingest`).
"""

import os
from pathlib import Path

from scope_core import Capability, ModelSpec, Router
from scope_langchain import Candidate, ScopeChatModel

CAPS = frozenset({Capability.TOOLS, Capability.STRUCTURED_OUTPUT})

try:
    from langchain_openai import ChatOpenAI
except ImportError:
    ChatOpenAI = None

if ChatOpenAI is None or not os.environ.get("OPENAI_API_KEY"):
    print("Install langchain-openai and set OPENAI_API_KEY to run this example; the code shows the setup:")
    print(Path(__file__).read_text().split("\n# --- setup ---\n")[1])
    raise SystemExit(0)

# --- setup ---
llm = ScopeChatModel(
    candidates=[
        Candidate(
            model=ChatOpenAI(model="gpt-4o-mini"),
            spec=ModelSpec(
                name="gpt-4o-mini", input_price=0.15, output_price=0.6, capabilities=CAPS, provider="openai"
            ),
        ),
        Candidate(
            model=ChatOpenAI(model="gpt-4o"),
            spec=ModelSpec(name="gpt-4o", input_price=2.5, output_price=10.0, capabilities=CAPS, provider="openai"),
        ),
    ],
    router=Router.open(),  # the persistent store in ~/.scope/store (or $SCOPE_STORE)
    alpha=0.7,
)
reply = llm.invoke("Explain in one sentence why the sky is blue.")
print(reply.response_metadata["model_name"], reply.response_metadata["scope"]["reason"])
print(reply.text)
llm.flush()
