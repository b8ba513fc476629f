"""CallRecords: what a router keeps of its calls: each attempt's outcome (journaled, then stored), quality
scores by run id, and the models' health. Routed calls hand their finished attempts here (the ``CallSink``
of ``scope_core.routing.call``), with everything computed; ``Router.record_call`` comes in the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np

from scope_core.errors import UnknownRunError
from scope_core.outcome import Outcome, check_score
from scope_core.routing.call import Ended, RoutedCall, Score
from scope_core.routing.health import HealthTracker
from scope_core.store.recorder import Recorder

log = logging.getLogger("scope_core")


class CallRecords:
    """The router's records of its calls (thread-safe through the recorder)."""

    def __init__(self, recorder: Recorder, health: HealthTracker) -> None:
        self.recorder, self.health = recorder, health

    def attempt_ended(self, call: RoutedCall, ended: Ended, score: Score | None) -> None:
        """A routed call's attempt ended: its outcome is journaled at once (a ``score`` callable runs on the writer
        thread first); storing it never fails the call."""
        embeddings = {call.decision.query_hash: call.query.embedding}
        if score is not None:
            self.recorder.writer.submit(lambda: self.write(call.text, ended, score(), embeddings))
            return
        try:
            self.write(call.text, ended, None, embeddings)
        except Exception:
            log.exception("scope-router: recording an outcome failed")

    def write(
        self,
        text: str,
        ended: Ended,
        score: float | None,
        embeddings: Mapping[str, np.ndarray] | None = None,
        *,
        wait: bool = False,
    ) -> Outcome:
        """Record how an attempt on ``text`` (a routing text) ended; returns its outcome."""
        if ended.error is None:
            self.health.report_success(ended.model)
        else:
            self.health.report_failure(ended.model, ended.error)
        outcome = Outcome(
            id=ended.run_id,
            prompt=text,
            model=ended.model,
            score=score,
            input_tokens=ended.input_tokens,
            output_tokens=ended.output_tokens,
            cost_usd=ended.cost_usd,
            latency_s=ended.latency_s,
            error=ended.error,
            source="online",
        )
        self.recorder.outcomes([outcome], wait=wait, embeddings=embeddings)
        return outcome

    def outcomes(self, batch: Sequence[Outcome], *, wait: bool) -> int:
        """Store observed outcomes (journaled first); how many records were new or changed."""
        return self.recorder.outcomes(batch, wait=wait)

    def feedback(self, run_id: str, score: float, *, wait: bool = True) -> None:
        """Attach a quality score in [0, 1] to a recorded call, by its run id."""
        score = check_score(score)
        if wait:
            self.recorder.writer.flush()  # a routed call's record may still be on the writer
        try:
            self.recorder.score(str(run_id), score, wait=wait)
        except KeyError:
            raise UnknownRunError(
                f"no recorded call with run id '{run_id}': pass the run_id a routed call returned"
            ) from None
