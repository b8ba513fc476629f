"""``with_structured_output`` for the router: tool calling, or the candidate's native JSON modes."""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Literal

from langchain_core.output_parsers import (
    BaseOutputParser,
    JsonOutputKeyToolsParser,
    JsonOutputParser,
    PydanticOutputParser,
    PydanticToolsParser,
)
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

Method = Literal["function_calling", "json_schema", "json_mode"]
METHODS = ("function_calling", "json_schema", "json_mode")


def is_pydantic(schema: Any) -> bool:
    return isinstance(schema, type) and is_basemodel_subclass(schema)


def tool_parser(schema: Any) -> BaseOutputParser:
    """Parses the first tool call of a reply into the schema (pydantic) or a dict."""
    if is_pydantic(schema):
        return PydanticToolsParser(tools=[schema], first_tool_only=True)
    name = convert_to_openai_tool(schema)["function"]["name"]
    return JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)


def json_parser(schema: Any) -> BaseOutputParser:
    """Parses a JSON reply (the router turns a candidate's native structured output into JSON text)."""
    if is_pydantic(schema):
        return PydanticOutputParser(pydantic_object=schema)
    return JsonOutputParser()


def json_request(schema: Any, method: Method, strict: bool | None) -> dict[str, Any]:
    """The ``structured_output`` call kwarg the router forwards to the chosen candidate."""
    return {"schema": convert_to_json_schema(schema), "method": method, "strict": strict}


def with_parser(llm: Runnable, parser: BaseOutputParser, include_raw: bool) -> Runnable:
    if not include_raw:
        return llm | parser
    parse = RunnablePassthrough.assign(parsed=itemgetter("raw") | parser, parsing_error=lambda _: None)
    none = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=llm) | parse.with_fallbacks([none], exception_key="parsing_error")
