"""The background refit's worker process: reads a pickled ``(estimator, store, k, index)`` on stdin, runs
``estimator.fit(store, k=k, index=index)`` at the lowest CPU priority and writes the fit, pickled, on stdout.
``scope_core.routing.refit`` starts it as ``python -m scope_core.routing.fit_worker``; nothing else does."""

from __future__ import annotations

import pickle
import sys

from scope_core.routing.refit import lowest_priority


def main() -> None:
    lowest_priority()  # the fit's BLAS threads, started later, inherit it
    out, sys.stdout = sys.stdout.buffer, sys.stderr  # nothing but the fit may reach the parent's pipe
    estimator, store, k, index = pickle.load(sys.stdin.buffer)
    pickle.dump(estimator.fit(store, k=k, index=index), out)
    out.flush()


if __name__ == "__main__":
    main()
