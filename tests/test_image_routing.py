"""An image-only message routes on a placeholder text and needs a vision model, in both adapters."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage
from llama_index.core.base.llms.types import ChatMessage, ImageBlock

from scope_core import BehaviourStore, Candidate, Capability, ModelSpec, NoCandidateError, Router
from scope_core.text.turns import IMAGE_PLACEHOLDER
from scope_langchain import ScopeChatModel
from scope_langchain.messages import to_turns as langchain_turns
from scope_langchain.testing import ScriptedChatModel
from scope_llamaindex import SCOPE_KEY, ScopeLLM
from scope_llamaindex.messages import to_turns as llamaindex_turns
from scope_llamaindex.testing import ScriptedLLM

TEXT_ONLY = ModelSpec(name="text", input_price=0.1, output_price=0.4)
VISION = ModelSpec(name="eyes", input_price=3.0, output_price=15.0, capabilities=frozenset({Capability.VISION}))
PNG = "https://example.com/cat.png"


def test_image_only_messages_get_the_placeholder():
    assert [t.content for t in langchain_turns([HumanMessage([{"type": "image", "url": PNG}])])] == [IMAGE_PLACEHOLDER]
    li = ChatMessage(role="user", blocks=[ImageBlock(url=PNG)])
    assert [t.content for t in llamaindex_turns([li])] == [IMAGE_PLACEHOLDER]
    with_text = HumanMessage([{"type": "text", "text": "What is this?"}, {"type": "image", "url": PNG}])
    assert [t.content for t in langchain_turns([with_text])] == ["What is this?"]


@pytest.mark.parametrize("specs", [(TEXT_ONLY, VISION), (TEXT_ONLY,)])
def test_both_adapters_route_an_image_only_message_to_a_vision_model(embedder, specs):
    lc = ScopeChatModel(
        router=Router(BehaviourStore.ephemeral(), embedder=embedder),
        candidates=[Candidate(model=ScriptedChatModel(model=s.name), spec=s) for s in specs],
    )
    li = ScopeLLM(
        router=Router(BehaviourStore.ephemeral(), embedder=embedder),
        candidates=[Candidate(model=ScriptedLLM(model=s.name), spec=s) for s in specs],
    )
    ask_lc = lambda: lc.invoke([HumanMessage([{"type": "image", "url": PNG}])]).response_metadata["scope"]  # noqa: E731
    ask_li = lambda: li.chat([ChatMessage(role="user", blocks=[ImageBlock(url=PNG)])]).additional_kwargs[SCOPE_KEY]  # noqa: E731
    if VISION in specs:
        assert ask_lc()["model"] == ask_li()["model"] == "eyes"  # the cheaper text model is excluded
    else:
        for ask in (ask_lc, ask_li):
            with pytest.raises(NoCandidateError, match="vision"):
                ask()
