"""Evaluation harness: routers against single models, the oracle, the zero router and baselines."""

from .metrics import aiq, expected_calibration_error, upper_envelope
from .report import Curve, EvalReport, OperatingPoint, SingleModel
from .run import run_eval
from .sweep import alpha_sweep

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
