"""Errors raised by scope_core. Every message names what was wrong."""


class ScopeError(Exception):
    """Base class for scope-router errors."""


class UnknownModelError(ScopeError, KeyError):
    """A model name that the registry does not know."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else "unknown model"


class NoCandidateError(ScopeError):
    """No registered model satisfies the routing constraints."""


class DataFormatError(ScopeError, ValueError):
    """A malformed data file; the message names file, row and field."""

    def __init__(self, path: str, row: int | None, field: str | None, problem: str) -> None:
        self.path, self.row, self.field, self.problem = path, row, field, problem
        where = path + (f", row {row}" if row is not None else "") + (f", field '{field}'" if field else "")
        super().__init__(f"{where}: {problem}")


class EmbedderUnavailableError(ScopeError, RuntimeError):
    """The local embedding model is not installed; nothing is downloaded."""


class AllCandidatesFailedError(ScopeError):
    """Every candidate of a routed call raised; ``errors`` maps model name to its exception."""

    def __init__(self, errors: dict[str, BaseException]) -> None:
        self.errors = dict(errors)
        detail = "; ".join(f"{m}: {type(e).__name__}: {e}" for m, e in self.errors.items())
        super().__init__(f"every candidate failed ({detail or 'no candidate was tried'})")


class UnknownRunError(ScopeError, KeyError):
    """Feedback named a run id that no recorded call has."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown run id"


class ColdStartWarning(UserWarning):
    """A candidate has no scored outcome anywhere: it is routed on a default P(correct) (issued once per model)."""


class StoreError(ScopeError):
    """The behaviour store refused or failed a call (the message names the store and the cause)."""


class StoreUnavailableError(StoreError, ConnectionError):
    """The behaviour store cannot be reached in time (down, stalled, or failing); routing goes on degraded."""


class StoreLockedError(StoreError):
    """An embedded store folder is already open in another process."""


class InvalidInputError(ScopeError, ValueError):
    """A prompt, conversation or outcome the router cannot take; the message names the problem."""
