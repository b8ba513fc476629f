"""Structured output through the router: only candidates that can do it are considered.

Run: .venv/bin/python examples/langchain_structured_output.py
"""

from langchain_common import candidates, seeded_router
from pydantic import BaseModel, Field

from scope_langchain import ScopeChatModel


class Contact(BaseModel):
    """A contact card."""

    name: str = Field(description="full name")
    age: int = Field(description="age in years")


llm = ScopeChatModel(candidates=candidates(), router=seeded_router())
extract = llm.with_structured_output(Contact, include_raw=True)
result = extract.invoke("Add 'Grace Hopper', 85 years old, to my contacts.")
print(result["parsed"], "via", result["raw"].response_metadata["model_name"])
json_mode = llm.with_structured_output(Contact, method="json_schema")
print(json_mode.invoke("Add 'Alan Turing', 41 years old."))
