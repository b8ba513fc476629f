"""The knn family (``knn``, ``knn-plain``, ``knn-features``): similarity-weighted evidence of the nearest stored
prompts shrunk toward group and global priors, with imputers for partly profiled models, an optional
prompt-feature map, and the fit of all of it on a store's own outcomes (``KNNEstimator.fit``)."""

from scope_core.estimators.knn import estimator, with_features  # noqa: F401  (they register the estimators)
