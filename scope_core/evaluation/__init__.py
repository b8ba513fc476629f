"""Evaluation harness: routers against single models, the oracle, the zero router and baselines."""

from scope_core.evaluation.metrics import aiq, expected_calibration_error, upper_envelope
from scope_core.evaluation.report import Curve, EvalReport, OperatingPoint, SingleModel
from scope_core.evaluation.run import run_eval
from scope_core.evaluation.sweep import alpha_sweep

__all__ = [
    "Curve",
    "EvalReport",
    "OperatingPoint",
    "SingleModel",
    "aiq",
    "alpha_sweep",
    "expected_calibration_error",
    "run_eval",
    "upper_envelope",
]
