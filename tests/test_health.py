from scope_core.health import HealthTracker


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
