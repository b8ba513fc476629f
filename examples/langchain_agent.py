"""A LangChain/LangGraph agent with tools: every model call (agent step) is routed on its own.

Run: .venv/bin/python examples/langchain_agent.py
"""

from langchain.agents import create_agent
from langchain_common import candidates, seeded_router
from langchain_core.tools import tool

from scope_langchain import ScopeChatModel, ScopeFeedbackHandler


@tool
def get_weather(city: str) -> str:
    """Current weather of a city."""
    return f"{city}: 18 degrees and cloudy."


router = seeded_router()
llm = ScopeChatModel(candidates=candidates(), router=router, alpha=0.7)
agent = create_agent(llm, [get_weather])  # or langgraph.prebuilt.create_react_agent
feedback = ScopeFeedbackHandler(router)
result = agent.invoke({"messages": [("user", "What is the weather in 'Lyon'?")]}, config={"callbacks": [feedback]})
for message in result["messages"]:
    model = message.response_metadata.get("model_name", "")
    print(f"{message.type:>5} {model:>6}: {message.text or message.tool_calls}")
feedback.feedback(1.0)  # the user liked the answer: score every routed step of this run
llm.flush()
print("scored steps:", [router.store.outcome(r)["s"] for r in feedback.run_ids])
