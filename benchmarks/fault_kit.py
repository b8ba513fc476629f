"""What the fault benchmark's scenarios share: routed calls made as an adapter makes them (with provider errors that
carry secrets), what each call waited on the router's bookkeeping, what reached the store, and a search for secrets
in every file, log line and raised text."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scope_core import BehaviourStore, Router  # noqa: E402
from scope_core.errors import AllCandidatesFailedError  # noqa: E402
from scope_core.routing.call import Usage  # noqa: E402
from scope_core.store import summary as sm  # noqa: E402
from tests.test_scrub import SECRETS  # noqa: E402  (the table of real-shaped secrets, one per form)

BOUND_S = 0.5  # journal_wait_s of every router here: the longest a call may wait on the bookkeeping


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def secret_error(i: int) -> RuntimeError:
    """A provider error carrying the i-th form of secret (a 401 with the key in it, a dict of headers...)."""
    form = SECRETS[i % len(SECRETS)]
    return RuntimeError(f"Error code: 401 - {form[1]}")


@dataclass
class Calls:
    """What a run of routed calls did: run ids (answered or not), waits on the bookkeeping, failures by kind."""

    run_ids: list[str] = field(default_factory=list)  # calls that ended (a decision each)
    outcome_ids: list[str] = field(default_factory=list)  # every attempt recorded (failures and answers)
    scored: list[str] = field(default_factory=list)  # answered calls given feedback
    waits: list[float] = field(default_factory=list)  # seconds in the call's bookkeeping (its attempts' records)
    routes: list[tuple[float, float, bool]] = field(default_factory=list)  # (start, seconds, degraded)
    raised: list[str] = field(default_factory=list)  # texts of the errors the calls raised
    failed_by_store: int = 0  # calls that failed for another reason than every candidate failing


def routed_call(router: Router, calls: Calls, text: str, run_id: str, i: int) -> None:
    """One call as an adapter makes it: every 5th one's first candidate fails with a secret in its error, every
    25th fails on every candidate; an answer is scored (``wait=False``)."""
    started = time.perf_counter()
    try:
        call = router.start(text, run_id=run_id)
    except Exception as exc:
        calls.failed_by_store += 1
        calls.raised.append(f"{type(exc).__name__}: {exc}")
        return
    calls.routes.append((started, time.perf_counter() - started, call.decision.degraded))

    def invoke(attempt):
        if i % 25 == 0 or (i % 5 == 0 and attempt.index == 0):
            raise secret_error(i + attempt.index)
        return "an answer"

    t = time.perf_counter()
    try:
        attempt, _ = call.run(invoke)
        call.succeeded(attempt, Usage(40, 12))
        router.feedback(run_id, float(i % 2), wait=False)
        calls.scored.append(run_id)
    except AllCandidatesFailedError as exc:
        calls.raised.append(str(exc))
    except Exception as exc:
        calls.failed_by_store += 1
        calls.raised.append(f"{type(exc).__name__}: {exc}")
    calls.waits.append(time.perf_counter() - t)  # the candidates answer at once: the rest is bookkeeping
    calls.run_ids.append(run_id)
    calls.outcome_ids += [e.run_id for e in call.ended]


class Load:
    """Routed calls in a loop on one thread, one every ``pace_s``, until stopped."""

    def __init__(self, router: Router, queries: list[str], tag: str, pace_s: float = 0.1) -> None:
        self.router, self.queries, self.tag, self.pace_s = router, queries, tag, pace_s
        self.calls = Calls()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=120)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            started = time.perf_counter()
            routed_call(self.router, self.calls, self.queries[i % len(self.queries)], f"{self.tag}-{i}", i + 1)
            i += 1
            time.sleep(max(0.0, self.pace_s - (time.perf_counter() - started)))


def landed(store: BehaviourStore, calls: Calls) -> dict[str, int]:
    """How much of what the calls sent is in the store: outcomes, decision records, scores."""
    found = 0
    for start in range(0, len(calls.outcome_ids), 256):
        found += len(store._outcomes.get(ids=calls.outcome_ids[start : start + 256], include=[])["ids"])
    records = store.decisions.records(calls.run_ids)
    scores = 0
    for start in range(0, len(calls.scored), 256):
        got = store._outcomes.get(ids=calls.scored[start : start + 256], include=["metadatas"])
        scores += sum("s" in (meta or {}) for meta in got["metadatas"])
    return {"outcomes": found, "decisions": len(records), "scores": scores}


def wait_landed(store: BehaviourStore, calls: Calls, timeout_s: float = 60.0) -> float | None:
    """Seconds until everything the calls sent is in the store (read by ``store``, no routed traffic); None if not
    within ``timeout_s``."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        with contextlib.suppress(Exception):
            got = landed(store, calls)
            if got == {
                "outcomes": len(calls.outcome_ids),
                "decisions": len(calls.run_ids),
                "scores": len(calls.scored),
            }:
                return time.perf_counter() - started
        time.sleep(0.25)
    return None


def row(scenario: str, store: BehaviourStore, calls: Calls, **extra: object) -> dict:
    """A scenario's row: sent vs stored, calls failed because of the store, the longest bookkeeping wait."""
    got = landed(store, calls)
    return {
        "scenario": scenario,
        "outcomes sent": len(calls.outcome_ids),
        "stored": got["outcomes"],
        "decisions sent": len(calls.run_ids),
        "logged": got["decisions"],
        "scores sent": len(calls.scored),
        "scored": got["scores"],
        "calls failed by the store": calls.failed_by_store,
        "max wait ms": 1000 * max(calls.waits, default=0.0),
        "secrets": secrets_in(calls.raised),
        "raised": calls.raised,
        **extra,
    }


def exact(store: BehaviourStore) -> bool:
    """Every prompt summary and model prior equals its recomputation from the outcome records."""
    wrong = store.rebuild_summaries()
    folded: dict[str, sm.Summary] = {}
    for per_model in sm.fold(store.all_outcomes()).values():
        sm.merge(folded, per_model)
    stored = store.priors()
    return wrong == 0 and all(
        all(abs(a - b) <= 1e-6 * max(1.0, abs(b)) for a, b in zip(stored[m], folded.get(m, sm.empty()), strict=True))
        for m in stored
    )


def secrets_in(texts: Iterable[str] = (), folders: Iterable[Path] = ()) -> int:
    """How many (form, place) pairs show a secret of the table: in the texts, or in any file under the folders."""
    blobs = [t.encode() for t in texts]
    for folder in folders:
        blobs += [p.read_bytes() for p in Path(folder).rglob("*") if p.is_file() and not p.name.endswith(".lock")]
    return sum(secret.encode() in blob for _, _, secret in SECRETS for blob in blobs)


def loose_files(*folders: Path) -> int:
    """Files and folders under ``folders`` that someone other than their owner can read or enter: open to others
    themselves, and every folder above them (up to the one given) open to others too. A file inside an owner-only
    folder is out of anyone else's reach whatever its own mode (Chroma creates its segment files with the default
    umask inside the store's 0700 folder)."""
    count = 0
    for top in map(Path, folders):
        for path in [top, *top.rglob("*")]:
            if not path.exists() or not os.stat(path).st_mode & 0o077:
                continue
            above = [] if path == top else [top, *(top / a for a in path.relative_to(top).parents if a != Path("."))]
            count += all(os.stat(a).st_mode & 0o011 for a in above)
    return count


def python(script: str, *args: str, timeout: float = 300) -> dict:
    """Run ``script`` in a new interpreter (this checkout first on its path); its last stdout line, as JSON."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"child failed ({done.returncode}): {done.stderr[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "30m") -> Iterator[Path | None]:
    """A tmpfs of ``size`` at ``path`` (None where mounting is not permitted)."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        yield None
        return
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder: Path) -> Path:
    """Fill the file system of ``folder`` to the last byte."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as out:
        for size in (1 << 20, 512):
            with contextlib.suppress(OSError):
                while True:
                    out.write(b"\0" * size)
    return filler
