"""What the router decided, and what it saved: the decision log's records read back, the report of a window of
traffic, the live dashboard, and traces (OpenTelemetry spans, a log line per decision)."""

from scope_core.lazy import lazy_exports

__all__ = ["LoggedDecision", "Report", "history", "report_of"]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "LoggedDecision": "scope_core.observe.record",
        "Report": "scope_core.observe.report",
        "history": "scope_core.observe.history",
        "report_of": "scope_core.observe.report",
    },
)
