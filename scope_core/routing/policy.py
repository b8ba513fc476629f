"""The caller's routing options and the choice they imply (pure functions, a reason for every exclusion).

Utility of model m with predicted accuracy p_m, predicted cost c_m and predicted latency t_m (seconds)::

    u_m = alpha * p_m - (1 - alpha) * c_m / c_ref - latency_weight * t_m

``c_ref`` is the typical per-call cost of the dearest candidate (from the store's global
outcomes), so alpha = 0 picks the cheapest model, alpha = 1 the most accurate, and at
alpha = 0.5 one point of accuracy is worth 1% of the dearest model's typical call.
Ties break toward the cheaper model. ``latency_weight`` (default 0) is the utility a second of predicted latency
costs; a model of unknown latency is not penalised (nor excluded by ``max_latency_s``).

``RouteOptions`` is the one typed form of every per-call key: each edge (``Router.route``/``start``, both
adapters, the selector, the CLI) builds it once, and an unknown key is an error naming the closest valid one.
A new key is a field here (and its effect, where it is the policy's, below).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ConfigDict, Field, model_validator

from scope_core.errors import InvalidInputError, NoCandidateError
from scope_core.estimators.estimate import Estimate
from scope_core.money import usd
from scope_core.routing.budget import BudgetGovernor
from scope_core.specs import Capability, ModelSpec
from scope_core.store import summary as sm
from scope_core.text.turns import RoutingMode
from scope_core.validation import Checked

DEFAULT_ALPHA = 0.5
DECLARE_CAPABILITIES = (
    ". Declare what a model can do: ModelSpec(..., capabilities={'tools'}) with router.register_model, "
    '`scope models add NAME --capabilities tools`, "capabilities": {"NAME": ["tools"]} in a data set\'s models.json, '
    "or a LangChain chat model's profile"
)


class RouteOptions(Checked):
    """What the caller controls on one routed call. A field left None is not set: the next layer's value (an
    adapter's, the router's) applies, else the default. Extra keys and bad values raise InvalidInputError."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    alpha: float | None = Field(
        default=None, ge=0.0, le=1.0, allow_inf_nan=False, description="0 = cheapest, 1 = most accurate (default 0.5)"
    )
    max_cost: float | None = Field(
        default=None, gt=0.0, allow_inf_nan=False, description="USD; hard cap on a call's predicted cost"
    )
    min_accuracy: float | None = Field(
        default=None, ge=0.0, le=1.0, allow_inf_nan=False, description="the cheapest model predicted to reach it"
    )
    allowed: frozenset[str] | None = Field(default=None, description="only these models")
    required: frozenset[Capability] | None = Field(default=None, description="capabilities the call needs")
    model: str | None = Field(default=None, description="force this model (no policy choice; it must be known)")
    budget: BudgetGovernor | None = Field(default=None, description="paces spend over a stream of calls")
    routing_mode: RoutingMode | None = Field(default=None, description="how a conversation's routing text is built")
    explore: float | None = Field(
        default=None, ge=0.0, le=1.0, allow_inf_nan=False,
        description="share of calls chosen by sampling the estimates' uncertainty (Thompson sampling; 0 = greedy)",
    )  # fmt: skip
    explore_cost: float | None = Field(
        default=None, gt=0.0, allow_inf_nan=False,
        description="an explored model's predicted cost is at most this multiple of the greedy choice's",
    )  # fmt: skip
    session_id: str | None = Field(default=None, description="the caller's session or thread: decision log, cache")
    tags: tuple[str, ...] | None = Field(default=None, description="the caller's tags (decision log)")
    metadata: dict[str, Any] | None = Field(default=None, description="the caller's metadata (decision log)")
    max_latency_s: float | None = Field(
        default=None, gt=0.0, allow_inf_nan=False, description="seconds; hard cap on a call's predicted latency"
    )
    latency_weight: float | None = Field(
        default=None, ge=0.0, allow_inf_nan=False, description="utility lost per second of predicted latency (0)"
    )
    cache_aware: bool | None = Field(
        default=None,
        description="price a session's steps with the prompt cache the models hold (default True; False: list "
        "prices, as if no model cached anything)",
    )
    cost_share: float | None = Field(
        default=None,
        gt=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="spend about this share of always calling the dearest candidate: sets alpha, calibrated on the "
        "store's outcomes (routing.cost_share); a later layer's alpha or cost_share replaces an earlier one's",
    )

    @model_validator(mode="after")
    def _one_trade_off(self) -> RouteOptions:
        if self.alpha is not None and self.cost_share is not None:
            raise ValueError("give alpha or cost_share, not both (cost_share sets alpha)")
        return self

    @classmethod
    def build(cls, *layers: RouteOptions | Mapping[str, Any] | None, **given: Any) -> RouteOptions:
        """Options from layers (each a RouteOptions or a dict; later ones win where they set a key) and keyword
        arguments (win last). Unknown keys and bad values raise InvalidInputError naming them."""
        merged: dict[str, Any] = {}
        for layer in (*layers, given):
            if layer is None:
                continue
            values = layer.set_values() if isinstance(layer, RouteOptions) else _known(layer)
            values = {k: v for k, v in values.items() if v is not None}
            for key, rival in (("alpha", "cost_share"), ("cost_share", "alpha")):
                if key in values:  # a later layer's trade-off replaces an earlier one's, either way it is given
                    merged.pop(rival, None)
            merged.update(values)
        return cls(**merged)

    @classmethod
    def take(cls, kwargs: MutableMapping[str, Any], *layers: RouteOptions | Mapping[str, Any] | None) -> RouteOptions:
        """Pop the routing keys from an adapter call's ``kwargs`` (the rest goes to the candidate) over ``layers``.
        A key that is not a routing key but is spelled like one (``alpah``) raises InvalidInputError."""
        for key in kwargs:
            if key not in cls.model_fields and (close := _closest(key)):
                raise InvalidInputError(f"unknown routing option '{key}'; did you mean '{close}'?")
        given = {k: kwargs.pop(k) for k in list(kwargs) if k in cls.model_fields}
        return cls.build(*layers, given)

    @classmethod
    def fold(cls, data: Any, fields: Iterable[str], field: str = "routing") -> Any:
        """An adapter's constructor data with routing keys given at the top level (``alpha=0.7``) moved into its
        ``field`` of options; a key that is neither one of the adapter's ``fields`` nor a routing key but is spelled
        like one raises InvalidInputError. Anything but a dict passes as it is."""
        if not isinstance(data, dict):
            return data
        for key in set(data) - set(fields) - set(cls.model_fields):
            if close := _closest(key):
                raise InvalidInputError(f"unknown routing option '{key}'; did you mean '{close}'?")
        if not (top := {k: data[k] for k in data if k in cls.model_fields}):
            return data
        rest = {k: v for k, v in data.items() if k not in top}
        return {**rest, field: cls.build(rest.get(field), top)}

    def set_values(self) -> dict[str, Any]:
        """The fields this layer sets (not None)."""
        return {k: v for k in type(self).model_fields if (v := getattr(self, k)) is not None}

    @property
    def trade_off(self) -> float:
        """alpha, or the default."""
        return DEFAULT_ALPHA if self.alpha is None else self.alpha

    def governed(self) -> RouteOptions:
        """These options as the budget governor (if any) sets them for the next call: its paced alpha (over any
        cost_share), and ``max_cost`` no more than the room it leaves."""
        if self.budget is None:
            return self
        paced = self.budget.overrides()
        cap = paced["max_cost"] if self.max_cost is None else min(paced["max_cost"], self.max_cost)
        return self.model_copy(update={"alpha": paced["alpha"], "max_cost": cap, "cost_share": None})

    def constraints(self) -> dict[str, Any]:
        """The options that shaped the choice, JSON-serialisable (for decisions and logs)."""
        out = {k: v for k, v in self.set_values().items() if k not in _LABELS}
        for key in ("allowed", "required"):
            if key in out:
                out[key] = sorted(str(v) for v in out[key])
        return out


_LABELS = ("budget", "session_id", "tags", "metadata")  # options that describe the call, not the choice


def _known(layer: Mapping[str, Any]) -> dict[str, Any]:
    """A layer's keys, each checked against the fields (the closest valid key is named)."""
    for key in layer:
        if key not in RouteOptions.model_fields:
            close = _closest(key)
            hint = f"; did you mean '{close}'?" if close else f"; valid options: {', '.join(RouteOptions.model_fields)}"
            raise InvalidInputError(f"unknown routing option '{key}'{hint}")
    return dict(layer)


def _closest(key: str) -> str | None:
    """The routing option ``key`` is a likely misspelling of (a close match of about its length), if any."""
    found = difflib.get_close_matches(key, list(RouteOptions.model_fields), n=1, cutoff=0.75)
    return found[0] if found and abs(len(found[0]) - len(key)) <= 2 else None


def cost_ref(candidates: Iterable[ModelSpec], priors: Mapping[str, Sequence[float]], input_tokens: int = 500) -> float:
    """The utility's cost unit: the typical per-call cost of the dearest candidate.

    Typical is the mean observed cost in the store's global ``priors``; a model without any
    observed usage is priced on ``input_tokens`` in and 256 out.
    """
    typical = []
    for spec in candidates:
        prior = priors.get(spec.name)
        if prior and prior[sm.N_USAGE] > 0:
            typical.append(prior[sm.COST_SUM] / prior[sm.N_USAGE])
        else:
            typical.append(spec.cost(input_tokens, 256))
    return max(typical, default=1.0)


@dataclass(frozen=True)
class Choice:
    chosen: str
    ranking: list[str]
    utilities: dict[str, float]
    reason: str
    excluded: dict[str, str]


def eligibility(
    estimates: Sequence[Estimate], specs: Mapping[str, ModelSpec], options: RouteOptions
) -> tuple[list[Estimate], dict[str, str]]:
    """Split estimates into eligible ones and {model: why excluded}."""
    eligible, excluded = [], {}
    required = options.required or frozenset()
    for e in estimates:
        spec = specs[e.model]
        if options.allowed is not None and e.model not in options.allowed:
            excluded[e.model] = "not allowed"
        elif not spec.supports(required):
            missing = sorted(c.value for c in set(required) - spec.capabilities)
            excluded[e.model] = f"lacks {', '.join(missing)}"
        elif e.input_tokens + e.output_tokens > spec.context_window:
            excluded[e.model] = (
                f"needs ~{int(e.input_tokens + e.output_tokens)} tokens > context window {spec.context_window}"
            )
        elif options.max_cost is not None and e.cost_usd > options.max_cost:
            excluded[e.model] = f"predicted cost {usd(e.cost_usd)} > max_cost {usd(options.max_cost)}"
        elif options.max_latency_s is not None and e.latency_s is not None and e.latency_s > options.max_latency_s:
            excluded[e.model] = f"predicted latency {e.latency_s:.2f} s > max_latency_s {options.max_latency_s:g} s"
        else:
            eligible.append(e)
    return eligible, excluded


def choose(
    estimates: Sequence[Estimate], specs: Mapping[str, ModelSpec], options: RouteOptions, cost_ref: float
) -> Choice:
    """Apply the options to per-model estimates; raises NoCandidateError if nothing is eligible."""
    eligible, excluded = eligibility(estimates, specs, options)
    if not eligible:
        detail = "; ".join(f"{m}: {why}" for m, why in excluded.items()) or "no models registered"
        hint = DECLARE_CAPABILITIES if any(why.startswith("lacks") for why in excluded.values()) else ""
        raise NoCandidateError(f"no candidate model satisfies the policy ({detail}){hint}")
    a, w = options.trade_off, options.latency_weight or 0.0
    scale = cost_ref if cost_ref > 0 else 1.0
    utilities = {e.model: a * e.p_correct - (1 - a) * e.cost_usd / scale - w * (e.latency_s or 0.0) for e in eligible}
    by_utility = sorted(eligible, key=lambda e: (-utilities[e.model], e.cost_usd))
    ranking = [e.model for e in by_utility]
    if options.min_accuracy is not None:
        reaching = sorted((e for e in eligible if e.p_correct >= options.min_accuracy), key=lambda e: e.cost_usd)
        if reaching:
            best = reaching[0]
            reason = (
                f"cheapest model predicted to reach min_accuracy {options.min_accuracy:.2f} (p={best.p_correct:.3f})"
            )
        else:
            best = max(eligible, key=lambda e: (e.p_correct, -e.cost_usd))
            reason = f"no model predicted to reach min_accuracy {options.min_accuracy:.2f}; most accurate chosen"
        ranking = [best.model] + [m for m in ranking if m != best.model]
    else:
        best = by_utility[0]
        timed = f", latency {best.latency_s:.2f} s" if w and best.latency_s is not None else ""
        reason = f"highest utility at alpha={a:.2f} (p={best.p_correct:.3f}, cost={usd(best.cost_usd)}{timed})"
    return Choice(best.model, ranking, utilities, reason, excluded)
