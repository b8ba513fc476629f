"""CallRecords: what a router keeps of its calls: each attempt's outcome and, when the call ends, its decision
record (``LoggedDecision``), journaled together and then stored; quality scores by run id; the models' health.

Routed calls hand their finished attempts here (the ``CallSink`` of ``scope_core.routing.call``) with everything
computed; ``Router.record_call`` comes in the same way. Each decision record is also handed to the router's
``observers`` on the caller's thread (a log line on ``scope_core.decisions``, an OpenTelemetry span).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import numpy as np

from scope_core.errors import ImplausibleOutcomeError, UnknownRunError
from scope_core.observe.record import LoggedDecision, logged
from scope_core.observe.tracing import span_observer
from scope_core.outcome import Outcome, check_score
from scope_core.routing.call import Ended, RoutedCall, Score
from scope_core.routing.decision import Decision
from scope_core.routing.health import HealthTracker
from scope_core.routing.latency import LatencyBook
from scope_core.routing.store_view import StoreView
from scope_core.scrub import scrub, scrubbed_logger
from scope_core.specs import ModelSpec
from scope_core.store.plausible import why_refused
from scope_core.store.recorder import Recorder

log = logging.getLogger("scope_core")
decisions_log = scrubbed_logger("scope_core.decisions")
Observer = Callable[[LoggedDecision], None]


def log_line(record: LoggedDecision) -> None:
    """One DEBUG line per decision on the ``scope_core.decisions`` logger."""
    if decisions_log.isEnabledFor(logging.DEBUG):
        decisions_log.debug(
            "run %s: chose %s (p=%.3f, rank %d, alpha %.2f), answered by %s, cost %s, %s attempt(s)%s",
            record.run_id,
            record.chosen,
            record.predictions[record.chosen].p,
            record.chosen_rank,
            record.alpha,
            record.model or "nobody",
            "-" if record.cost_usd is None else f"${record.cost_usd:.6g}",
            len(record.attempts),
            " [degraded]" if record.degraded else "",
        )


def default_observers(view: StoreView) -> list[Observer]:
    """A log line per decision, and a span per call where OpenTelemetry is installed."""
    spans = span_observer(provider_of=lambda model: getattr(view.last_registry.specs.get(model), "provider", None))
    return [log_line] if spans is None else [log_line, spans]


class CallRecords:
    """The router's records of its calls (thread-safe through the recorder); each answer's latency goes to
    ``latency`` (the router's ``LatencyBook``)."""

    def __init__(
        self,
        recorder: Recorder,
        health: HealthTracker,
        observers: Sequence[Observer] = (log_line,),
        check: Callable[[Outcome], str | None] = lambda outcome: None,
        latency: LatencyBook | None = None,
    ) -> None:
        self.recorder, self.health, self.observers, self.check = recorder, health, list(observers), check
        self.latency = latency or LatencyBook()
        self.usage_dropped = 0  # routed attempts whose token counts could not be real: kept without them

    def refuse_implausible(self, outcome: Outcome) -> None:
        """ImplausibleOutcomeError when ``outcome``'s tokens or cost cannot be real (``scope_core.store.plausible``)."""
        if (why := self.check(outcome)) is not None:
            raise ImplausibleOutcomeError(why_refused(outcome, why))

    def attempt_ended(self, call: RoutedCall, ended: Ended, score: Score | None, final: bool) -> None:
        """A routed call's attempt ended: its outcome (and, ending the call, the decision record) is journaled at
        once; a ``score`` callable runs on the writer thread first. Storing never fails the call."""
        embeddings = {call.decision.query_hash: call.query.embedding}
        closing = (call.decision, call.run_id, list(call.ended)) if final else None
        sent = call.decision.input_tokens
        if score is not None:  # the score is the writer's work; the call's observers hear of it here and now
            self.recorder.writer.submit(
                lambda: self.write(call.text, ended, score(), embeddings, closing=closing, observe=False, sent=sent)
            )
            if closing is not None:
                self._observed(logged(*closing, None))
            return
        try:
            self.write(call.text, ended, None, embeddings, closing=closing, sent=sent)
        except Exception:
            log.exception("scope-router: recording an outcome failed")

    def write(
        self,
        text: str,
        ended: Ended,
        score: float | None,
        embeddings: Mapping[str, np.ndarray] | None = None,
        *,
        closing: tuple[Decision, str, list[Ended]] | None = None,
        wait: bool = False,
        observe: bool = True,
        strict: bool = False,
        sent: int | None = None,
    ) -> Outcome:
        """Record how an attempt on ``text`` (a routing text) ended; with ``closing`` (the call's decision, run id
        and attempts) the call's decision record goes with it; ``sent``: the router's count of the whole prompt the
        call sent (its conversation), the prompt's token count in the store. Returns the outcome. Token counts or a
        cost that cannot be real raise ImplausibleOutcomeError when ``strict``, else the attempt is recorded without
        them."""
        outcome = self._outcome(text, ended, score)
        if (why := self.check(outcome)) is not None:
            if strict:
                raise ImplausibleOutcomeError(why_refused(outcome, why))
            log.warning("scope-router: %s; recorded without its token counts and cost", why_refused(outcome, why))
            self.usage_dropped += 1
            plain = replace(
                ended,
                input_tokens=None,
                output_tokens=None,
                cost_usd=None,
                cache_read_tokens=None,
                cache_write_tokens=None,
            )
            outcome = self._outcome(text, plain, score)
            if closing is not None:
                closing = (closing[0], closing[1], [plain if e is ended else e for e in closing[2]])
        if ended.error is None:
            self.health.report_success(ended.model)
            self.latency.observe(ended.model, ended.latency_s, ended.output_tokens, ended.ttft_s)
        else:
            self.health.report_failure(ended.model, ended.error)
        records = []
        if closing is not None:
            kept_text = text if self.recorder.store.store_prompts else None
            record = logged(*closing, kept_text, score)
            records.append({"record": record.model_dump(mode="json"), "summary": record.summary()})
        tokens = {outcome.prompt_hash: sent} if sent is not None else None
        self.recorder.outcomes([outcome], wait=wait, embeddings=embeddings, decisions=records, tokens=tokens)
        if closing is not None and observe:
            self._observed(record)
        return outcome

    @staticmethod
    def _outcome(text: str, ended: Ended, score: float | None) -> Outcome:
        return Outcome(
            id=ended.run_id,
            prompt=text,
            model=ended.model,
            score=score,
            input_tokens=ended.input_tokens,
            output_tokens=ended.output_tokens,
            cost_usd=ended.cost_usd,
            latency_s=ended.latency_s,
            cache_read_tokens=ended.cache_read_tokens,
            cache_write_tokens=ended.cache_write_tokens,
            ttft_s=ended.ttft_s,
            error=ended.error,
            source="online",
        )

    def _observed(self, record: LoggedDecision) -> None:
        for observe in self.observers:
            try:
                observe(record)
            except Exception:  # an observer never fails the call
                log.exception("scope-router: a decision observer failed")

    def record_call(
        self, decision: Decision, text: str, spec: ModelSpec, ended: Ended, score: float | None, *, wait: bool
    ) -> Outcome:
        """``Router.record_call``: one attempt of a call routed by ``Router.route``, priced on ``spec``, ending it."""
        if ended.input_tokens is not None and ended.output_tokens is not None:
            cache = (ended.cache_read_tokens or 0, ended.cache_write_tokens or 0)
            ended = replace(ended, cost_usd=spec.cost(ended.input_tokens, ended.output_tokens, *cache))
        if ended.error is not None:
            ended = replace(ended, error=scrub(ended.error))
        closing = (decision, ended.run_id, [ended])
        return self.write(text, ended, score, closing=closing, wait=wait, strict=True, sent=decision.input_tokens)

    def outcomes(self, batch: Sequence[Outcome], *, wait: bool) -> int:
        """Store observed outcomes (journaled first); how many records were new or changed."""
        for o in batch:
            if o.error is None:
                self.latency.observe(o.model, o.latency_s, o.output_tokens, o.ttft_s)
        return self.recorder.outcomes(batch, wait=wait)

    def feedback(self, run_id: str, score: float, *, wait: bool = True) -> None:
        """Attach a quality score in [0, 1] to a recorded call (its outcome and its decision record), by run id."""
        score = check_score(score)
        if wait:
            self.recorder.writer.flush()  # a routed call's record may still be on the writer
        try:
            self.recorder.score(str(run_id), score, wait=wait)
        except UnknownRunError:
            raise UnknownRunError(
                f"no recorded call with run id '{run_id}': pass the run_id a routed call returned"
            ) from None
