"""A local snapshot of the store's registry (specs, priors, fits), beside the journal: what a process that starts
while the store is down or stalled routes on.

It is rewritten (owner-only, replaced at once) when a registry read finds the specs or fits changed, or a model
gained its first scored outcome, or the priors changed and ``every_s`` passed since the last write; a change not yet
written is written at exit. A snapshot that cannot be read is moved aside with a warning naming it; routing then
goes on the candidates' specs alone.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import time
from pathlib import Path

import orjson

from scope_core.specs import ModelSpec
from scope_core.store import summary as sm
from scope_core.store.files import set_aside, write_private
from scope_core.store.records import Registry

log = logging.getLogger("scope_core")


class RegistrySnapshot:
    """The snapshot file of one store (``path`` None: an in-memory store, nothing is kept)."""

    def __init__(self, path: Path | None, every_s: float = 10.0) -> None:
        self.path, self.every_s = path, every_s
        self.saved_at: float | None = None  # when the snapshot this process loaded or wrote was taken
        self.problems: list[str] = []
        self._shape: tuple | None = None  # specs, fits and scored models last written: a change is written at once
        self._priors: object = None
        self._written = -1e18
        self._unsaved: Registry | None = None
        if path is not None:
            atexit.register(self.flush)

    def save(self, registry: Registry) -> None:
        """Keep ``registry`` as the snapshot (see the module docstring for when it is written)."""
        if self.path is None or not registry.specs:
            return
        scored = tuple(sorted(m for m, p in registry.priors.items() if p[sm.N_SCORED] > 0))
        specs = tuple(sorted((n, s.model_dump_json()) for n, s in registry.specs.items()))
        shape = (specs, tuple(sorted(registry.fits.items())), scored)
        if shape == self._shape and registry.priors == self._priors:
            return
        if shape == self._shape and time.monotonic() - self._written < self.every_s:
            self._unsaved = registry
            return
        self._write(registry, shape)

    def flush(self) -> None:
        """Write the registry kept but not yet written, if any."""
        if self._unsaved is not None:
            self._write(self._unsaved, self._shape)

    def _write(self, registry: Registry, shape: tuple | None) -> None:
        body = {
            "saved_at": time.time(),
            "specs": {n: s.model_dump(mode="json") for n, s in registry.specs.items()},
            "priors": registry.priors,
            "fits": registry.fits,
        }
        with contextlib.suppress(OSError):  # a full disk: the last snapshot stays
            write_private(self.path, orjson.dumps(body))  # type: ignore[arg-type]
            self._shape, self._priors = shape, {m: list(v) for m, v in registry.priors.items()}
            self._written, self.saved_at, self._unsaved = time.monotonic(), body["saved_at"], None

    def load(self) -> Registry | None:
        """The snapshot, or None (none kept, or damaged: then set aside with a warning)."""
        if self.path is None or not self.path.exists():
            return None
        try:
            body = orjson.loads(self.path.read_bytes())
            registry = Registry(
                specs={n: ModelSpec.model_validate(s) for n, s in body["specs"].items()},
                priors={m: [float(x) for x in v] for m, v in body["priors"].items()},
                fits={k: str(v) for k, v in body.get("fits", {}).items()},
            )
        except Exception as exc:  # any damage: JSON, keys, values
            aside = set_aside(self.path)
            message = (
                f"registry snapshot at {self.path} is damaged ({type(exc).__name__}); moved to {aside}. Nothing is "
                "lost from the store: a fresh snapshot is written at the next registry read"
            )
            self.problems.append(message)
            log.warning("scope-router: %s", message)
            return None
        self.saved_at = float(body.get("saved_at", 0.0))
        return registry


def snapshot_path(journal: Path | None) -> Path | None:
    """The snapshot file beside a journal file (None beside an in-memory journal)."""
    return None if journal is None else journal.with_name(f"{journal.stem}-registry.json")
