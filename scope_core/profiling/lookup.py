"""ModelSpec looked up, not typed: the store's registered spec, else prices from ``genai-prices`` and capabilities
from a LangChain model profile or models.dev's catalogue (``scope_core.profiling.capabilities``).

``genai-prices`` (maintained by Pydantic) ships its price table with the package, so the lookup works
offline. A LangChain chat model's ``profile`` (``BaseChatModel.profile``, from models.dev) gives its
tool calling, structured output, image inputs and context window. Anything passed explicitly wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from scope_core.errors import ScopeError
from scope_core.profiling.capabilities import capabilities_of, looked_up_capabilities
from scope_core.specs import Capability, ModelSpec

_PER = 1_000  # tokens priced per lookup: the base tier of tiered (long-context) prices


class UnknownModelPriceError(ScopeError, LookupError):
    """No price is known for a model (not registered, not in genai-prices) and none was passed."""

    def __init__(self, model: str, provider: str | None = None) -> None:
        self.model, self.provider = model, provider
        of = f" of provider {provider!r}" if provider else ""
        super().__init__(
            f"no price known for model '{model}'{of} (not registered in the store, and genai-prices has none); pass "
            f"input_price= and output_price= (USD per 1M tokens), or register it: "
            f"router.register_model(ModelSpec(name='{model}', input_price=..., output_price=...))"
        )


class Found(NamedTuple):
    """What genai-prices knows of a model: USD per 1M tokens (the cache's None where it bills none apart)."""

    input_price: float
    output_price: float
    context_window: int | None
    provider: str
    cache_read_price: float | None
    cache_write_price: float | None


def _base(price: Any) -> float | None:
    """A genai-prices price per 1M tokens as a float: a tiered one's base tier (None: not billed apart)."""
    return None if price is None else float(getattr(price, "base", price))


def _looked_up(name: str, provider: str | None) -> Found | None:
    """Prices, context window and provider id from genai-prices, or None if it lacks the model.

    A provider genai-prices does not list under that name (LangChain's and its ids differ) falls back
    on a lookup by the model name alone.
    """
    from genai_prices import Usage, calc_price

    usage = Usage(input_tokens=_PER, output_tokens=_PER)
    for provider_id in dict.fromkeys((provider, None)):
        try:
            price = calc_price(usage, name, provider_id=provider_id)
            break
        except LookupError:
            continue
    else:
        return None
    per_m = Decimal(1_000_000) / _PER
    prices = price.model.get_prices(datetime.now(tz=UTC))
    return Found(
        float(price.input_price * per_m),
        float(price.output_price * per_m),
        price.model.context_window,
        price.provider.id,
        _base(prices.cache_read_mtok),
        _base(prices.cache_write_mtok),
    )


def price_of(name: str, provider: str | None = None) -> tuple[float, float] | None:
    """(input, output) USD per 1M tokens of a model genai-prices knows, else None."""
    found = _looked_up(name, provider)
    return None if found is None else (found.input_price, found.output_price)


def _cache_prices(found: Found, input_price: float) -> dict[str, float | None]:
    """genai-prices' cache prices of a model, scaled to the spec's own input price where that differs."""
    scale = 1.0 if input_price == found.input_price or not found.input_price else input_price / found.input_price
    prices = {"cache_read_price": found.cache_read_price, "cache_write_price": found.cache_write_price}
    return {k: None if v is None else v * scale for k, v in prices.items()}


def spec_for(
    name: str,
    /,
    *,
    model_profile: Mapping[str, Any] | None = None,
    registered: Mapping[str, ModelSpec] | None = None,
    inferred: frozenset[Capability] = frozenset(),
    **overrides: Any,
) -> ModelSpec:
    """A ModelSpec for a known model: ``spec_for("gpt-4o-mini")``, ``spec_for("anthropic:claude-3-5-haiku-latest")``.

    ``name`` may carry its provider as ``provider:model`` (the spec is named ``model``, or ``name=``). A model in
    ``registered`` (a store's registry) starts from its registered spec; else prices and the context window come
    from genai-prices. Capabilities come from ``model_profile`` (a LangChain chat model's ``.profile``), else the
    registered spec's, else models.dev's catalogue, else ``inferred`` (what the model object shows it can do);
    ``overrides`` (any ModelSpec field) replace them all. A model with no price anywhere raises
    UnknownModelPriceError unless ``input_price`` and ``output_price`` are passed. Cache prices (``cache_read_price``,
    ``cache_write_price``) a spec lacks come from genai-prices where it lists the model's.
    """
    provider, _, model = name.rpartition(":") if ":" in name else (None, "", name)
    provider = overrides.pop("provider", None) or provider or None
    known = (registered or {}).get(overrides.get("name", model))
    fields: dict[str, Any] = {"name": model, **(known.model_dump() if known else {})}
    needs_price = known is None and ("input_price" not in overrides or "output_price" not in overrides)
    needs_cache = fields.get("cache_read_price") is None and "cache_read_price" not in overrides
    found = _looked_up(model, provider) if needs_price or needs_cache else None
    if needs_price and found is None:
        raise UnknownModelPriceError(model, provider)
    if found is not None and needs_price:
        fields.update(
            input_price=found.input_price, output_price=found.output_price, provider=provider or found.provider
        )
        if found.context_window:
            fields["context_window"] = found.context_window
    elif provider:
        fields["provider"] = provider
    if found is not None and needs_cache:
        fields.update(
            _cache_prices(found, overrides["input_price"] if "input_price" in overrides else fields["input_price"])
        )
    if model_profile:
        fields["capabilities"] = capabilities_of(model_profile)
        if model_profile.get("max_input_tokens"):
            fields["context_window"] = int(model_profile["max_input_tokens"])
    elif not fields.get("capabilities"):
        fields["capabilities"] = looked_up_capabilities(model, provider) or inferred
    return ModelSpec(**{**fields, **overrides})


def model_name(model: Any) -> str | None:
    """The model name a LangChain chat model or LlamaIndex LLM reports (``model_name``, ``model``, ``metadata``)."""
    for attr in ("model_name", "model", "model_id"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    metadata = getattr(model, "metadata", None)
    value = getattr(metadata, "model_name", None)
    return value if isinstance(value, str) and value else None
