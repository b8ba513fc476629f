"""SCOPE's reasoning estimator (``reasoning``): an LLM reads each candidate's record on the query's neighbours
and predicts its output length and correctness, blended with the knn estimate."""

from scope_core.estimators.reasoning import estimator  # noqa: F401  (it registers the estimator)
