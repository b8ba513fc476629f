"""RouterStatus: where a router's store, journal and registry stand, in one read (``router.status()``).

Nothing a router keeps is lost without being counted here: writes waiting in the journal file or in memory, writes
the memory queue had no room for (``dropped``), writes the store refused (``refused``), writes whose apply failed
otherwise and are kept (``held``), damaged files set aside (``problems``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from scope_core.errors import StoreCorruptedError, StoreFullError

if TYPE_CHECKING:
    from scope_core.routing.store_view import StoreView
    from scope_core.store.behaviour import BehaviourStore
    from scope_core.store.journal import Journal
    from scope_core.store.recorder import Recorder


@dataclass(frozen=True)
class RouterStatus:
    """A router's state. ``store``: ok, unavailable, full or corrupted; ``registry``: where routing gets its models
    and priors (store, snapshot, registered here, none)."""

    store: str
    down_s: float
    cause: str
    journal: Path | None
    waiting: int  # this router's writes not stored yet (on disk and in memory)
    in_memory: int  # of which in memory: the journal file could not be written in time
    dropped: int  # writes lost: the memory queue was full (counted, never silent)
    refused: int  # writes the store refused (an unknown model or run), deleted
    held: int  # writes whose apply failed otherwise, kept in the journal and tried again later
    registry: str
    snapshot_age_s: float | None
    problems: list[str] = field(default_factory=list)  # damaged files set aside: path, what was lost, what to do
    outages: int = 0

    @property
    def ok(self) -> bool:
        """The store answers and nothing waits, was lost, refused or held."""
        return self.store == "ok" and not (self.waiting or self.dropped or self.refused or self.held or self.problems)

    def __str__(self) -> str:
        down = f" for {self.down_s:.1f} s ({self.cause})" if self.store != "ok" else ""
        counts = ", ".join(
            f"{n} {what}"
            for n, what in (
                (self.waiting, "waiting"),
                (self.in_memory, "of them in memory"),
                (self.dropped, "dropped"),
                (self.refused, "refused"),
                (self.held, "held"),
            )
            if n
        )
        return f"store {self.store}{down}; journal {self.journal or 'in memory'}: {counts or 'nothing waiting'}"


def router_status(store: BehaviourStore, journal: Journal, view: StoreView, recorder: Recorder) -> RouterStatus:
    """The status of a router made of these parts."""
    guard = store.guard
    kind = guard.kind
    state = (
        "ok" if not guard.down else {StoreFullError: "full", StoreCorruptedError: "corrupted"}.get(kind, "unavailable")
    )  # type: ignore[arg-type]
    saved = view.snapshot.saved_at
    return RouterStatus(
        store=state,
        down_s=guard.down_s,
        cause=guard.cause,
        journal=journal.path,
        waiting=journal.waiting(),
        in_memory=len(journal.backlog),
        dropped=journal.dropped,
        refused=recorder.refused,
        held=journal.held(),
        registry=view.source,
        snapshot_age_s=None if saved is None else time.time() - saved,
        problems=[*journal.problems, *view.snapshot.problems],
        outages=guard.outages,
    )
