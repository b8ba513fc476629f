"""What both adapters' prompt-cache tests share: a long system prompt worth caching, and genai-prices' bill."""

from __future__ import annotations

from genai_prices import Usage as PriceUsage
from genai_prices import calc_price

MANUAL = "You answer questions about the operations manual below.\n" + "\n".join(
    f"Section {i}: the valve on line {i} opens at {i * 3} bar and closes at {i * 2} bar." for i in range(80)
)


def billed(record: dict, model: str, provider: str) -> float:
    """genai-prices' price of an outcome record's usage (its cache reads and writes included)."""
    usage = {"input_tokens": record["it"], "output_tokens": record["ot"]}
    usage |= {
        k: record[short] for k, short in (("cache_read_tokens", "cr"), ("cache_write_tokens", "cw")) if short in record
    }
    return float(calc_price(PriceUsage(**usage), model, provider_id=provider).total_price)
