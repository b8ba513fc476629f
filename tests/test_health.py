import pytest

from scope_core.routing.health import HealthTracker


def test_fails_cools_down_then_recovers():
    now = [0.0]
    h = HealthTracker(allowed_fails=2, cooldown_time=10, clock=lambda: now[0])
    assert h.factor("a") == 1.0
    h.report_failure("a", TimeoutError())
    assert 0 < h.factor("a") < 1 and not h.cooling("a")
    h.report_failure("a", "429")
    assert h.cooling("a") and h.factor("a") == 0.0
    now[0] = 11
    assert not h.cooling("a") and h.factor("a") == 1.0
    h.report_failure("a")
    h.report_failure("a")
    now[0] = 11 + 15  # second cooldown lasts twice as long
    assert h.cooling("a")
    h.report_success("a")
    assert h.factor("a") == 1.0 and h.factor("b") == 1.0


def test_failures_older_than_the_window_stop_counting():
    now = [0.0]
    health = HealthTracker(allowed_fails=3, cooldown_time=5.0, window_s=60.0, clock=lambda: now[0])
    health.report_failure("a")
    health.report_failure("a")
    assert health.factor("a") == pytest.approx(1 / 3)
    now[0] = 61.0  # a minute without failures: back at full weight, and the count starts over
    assert health.factor("a") == 1.0
    health.report_failure("a")
    health.report_failure("a")
    assert not health.cooling("a") and health.factor("a") == pytest.approx(1 / 3)
