"""Errors raised by scope_core. Every message names what was wrong, and is scrubbed of credentials."""

from scope_core.scrub import scrub


class ScopeError(Exception):
    """Base class for scope-router errors; a text argument is scrubbed of credentials (``scope_core.scrub``)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(scrub(a) if isinstance(a, str) else a for a in args))


class UnknownModelError(ScopeError, KeyError):
    """A model name that the registry does not know."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else "unknown model"


class NoCandidateError(ScopeError):
    """No registered model satisfies the routing constraints."""


class InvalidInputError(ScopeError, ValueError):
    """A value the library cannot take (a prompt, conversation, outcome, option, model spec or file); the message
    is one line naming the field and the value."""


class DataFormatError(InvalidInputError):
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
        detail = "; ".join(f"{m}: {type(e).__name__}: {' '.join(str(e).split())[:300]}" for m, e in self.errors.items())
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


class ImplausibleOutcomeError(InvalidInputError):
    """An outcome whose token counts or cost cannot be real (beyond the model's context window, far outside what
    the model was seen to use); it is refused so that it cannot poison the estimates."""


class StoreFullError(StoreUnavailableError):
    """The store's disk is full: writes wait in the journal until there is room."""


class StoreCorruptedError(StoreUnavailableError):
    """The store's database file is damaged or missing: the message names the file and what to do."""


class StorePendingError(StoreUnavailableError):
    """``flush(timeout=...)`` ran out of time with writes not yet stored; ``pending`` says how many."""

    def __init__(self, message: str, pending: int) -> None:
        super().__init__(message)
        self.pending = pending
