"""A LangChain chain through ScopeChatModel: each call goes to the model the store predicts is worth it.

Run: .venv/bin/python examples/langchain_chain.py
"""

from langchain_common import candidates, seeded_router
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import ConfigurableField

from scope_langchain import ScopeChatModel

router = seeded_router()
llm = ScopeChatModel(candidates=candidates(), router=router, alpha=0.8)
prompt = ChatPromptTemplate.from_messages([("system", "Answer briefly."), ("human", "{question}")])
chain = prompt | llm
tunable = llm.configurable_fields(alpha=ConfigurableField(id="alpha"))  # alpha per run, from the config

for question in ["Hello, how are you?", "Prove that the square root of 3 is irrational."]:
    reply = chain.invoke({"question": question})
    scope = reply.response_metadata["scope"]
    print(f"{question!r} -> {reply.response_metadata['model_name']}  ({scope['reason']})")
    cheapest = (prompt | tunable | StrOutputParser()).invoke(
        {"question": question}, config={"configurable": {"alpha": 0}}
    )
    print("    alpha=0 (cheapest) from the config:", cheapest)

llm.flush()
print("outcomes stored:", router.store.count_outcomes())
