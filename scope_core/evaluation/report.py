"""The evaluation report: every operating point, so anyone can recompute the summary figures."""

from __future__ import annotations

from pydantic import BaseModel, Field


class OperatingPoint(BaseModel):
    """Total test cost and mean test score of one way of routing (a router at one alpha, a model...)."""

    alpha: float | None = None
    cost: float = Field(description="USD, summed over the test prompts")
    accuracy: float = Field(description="mean recorded score over the test prompts")
    estimator_cost: float = Field(default=0.0, description="USD of the estimator's own calls, included in cost")
    choices: dict[str, int] = Field(default_factory=dict, description="test prompts routed to each model")


class Curve(BaseModel):
    """A router's operating points and their summary (AIQ over [c_min, c_max] of the report)."""

    name: str
    points: list[OperatingPoint]
    aiq: float
    max_accuracy: float
    cost_to_best_single: float | None = Field(
        description="cheapest operating point reaching the best single model's accuracy (None if none does)"
    )
    ece: float | None = Field(default=None, description="expected calibration error of p_correct (10 bins)")


class SingleModel(BaseModel):
    name: str
    accuracy: float
    cost: float = Field(description="mean recorded cost x number of test prompts")
    n: int = Field(description="test prompts with an outcome of this model")


class ReliabilityBin(BaseModel):
    mean_predicted: float
    mean_observed: float
    count: int


class Calibration(BaseModel):
    """The router's p_correct against recorded scores over all (test prompt, model) pairs."""

    ece: float
    bins: list[ReliabilityBin]
    cost_mdape: dict[str, float | None] = Field(
        description="per model: median |predicted - recorded| / recorded cost over its test prompts"
    )


class BudgetReplay(BaseModel):
    """What a budget-governed stream spent and scored."""

    budget: float = Field(description="USD the governor paces toward")
    hard_cap: float = Field(description="USD the governor must never pass")
    spent: float = Field(
        description="USD actually charged (recorded costs of the chosen models and the estimator's own cost)"
    )
    over_cap: bool = Field(description="spend passed the hard cap at some call")
    accuracy: float = Field(description="mean recorded score over all prompts; refused calls score 0")
    served: int
    refused: int
    final_alpha: float
    choices: dict[str, int] = Field(default_factory=dict)


class EvalReport(BaseModel):
    data: str
    estimator: str
    seed: int
    train_frac: float
    n_train: int
    n_test: int
    k: int | None = Field(default=None, description="neighbours per query")
    holdout_models: list[str] = Field(default_factory=list)
    anchors: int | None = Field(default=None, description="train prompts the held-out models keep outcomes on")
    alphas: list[float]
    c_min: float = Field(description="total test cost of the cheapest single model")
    c_max: float = Field(description="total test cost of the dearest single model")
    best_single: str
    best_single_accuracy: float
    singles: list[SingleModel]
    oracle: OperatingPoint = Field(description="cheapest model with the best recorded score on each prompt")
    zero_router: Curve = Field(description="upper convex hull of the single models (random mixing)")
    router: Curve
    baselines: dict[str, Curve]
    task_oracle: Curve | None = Field(
        default=None,
        description="routing on each task's true per-model test accuracy and mean cost, nothing per prompt",
    )
    compared: dict[str, Curve] = Field(
        default_factory=dict, description="other estimators on the router's own query contexts (run_eval compare=)"
    )
    compared_cost_mdape: dict[str, dict[str, float | None]] = Field(
        default_factory=dict, description="per compared estimator: Calibration.cost_mdape"
    )
    calibration: Calibration
    budget_replays: list[BudgetReplay] = Field(
        default_factory=list, description="the router's test stream replayed in order under a BudgetGovernor"
    )
    estimator_tokens: int = Field(default=0, description="tokens the router's estimator itself spent on the test")
    estimator_cost_usd: float = Field(
        default=0.0, description="USD the router's estimator itself spent, included in the router's costs"
    )
    estimator_fallbacks: dict[str, int] = Field(
        default_factory=dict, description="estimates where the estimator fell back (to knn), by reason"
    )
    timings_s: dict[str, float] = Field(default_factory=dict)
    train_ids: list[str] = Field(default_factory=list, description="prompt ids of the train part")
    test_ids: list[str] = Field(
        default_factory=list, description="prompt ids of the test part (those with an outcome), in routing order"
    )

    def curves(self) -> dict[str, Curve]:
        """Router, baselines and zero router by name."""
        return {"router": self.router, **self.baselines, "zero": self.zero_router}
