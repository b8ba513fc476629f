"""A shared journal file: each owner applies its own entries; a dead owner's are adopted, never a live one's."""

from __future__ import annotations

from scope_core.store.journal import Entry, Journal


def test_a_live_owners_entries_stay_its_own_and_a_closed_ones_are_adopted_in_order(tmp_path):
    path = tmp_path / "journal.sqlite"
    first, second = Journal(path), Journal(path)
    for i in range(3):
        first.append("score", {"id": f"run-{i}", "score": 1.0})
    seen: list[Entry] = []

    def apply(kind: str, entries: list[Entry]) -> list[None]:
        seen.extend(entries)
        return [None] * len(entries)

    assert second.replay(apply) == {} and first.pending() == 3  # first is alive: it applies them itself
    first.close()  # as a process that exits (or dies) leaves them
    assert len(second.replay(apply)) == 3 and second.pending() == 0
    assert [e.payload["id"] for e in seen] == ["run-0", "run-1", "run-2"]
    assert all(e.retried for e in seen), "an adopted entry may have been tried: its priors are checked"
    second.append("score", {"id": "run-3", "score": 0.0})
    second.replay(apply)
    assert not seen[-1].retried, "an entry applied by the owner that wrote it, first time, is fresh"


def test_an_idle_owner_finds_and_adopts_a_dead_ones_entries_on_its_own(tmp_path, monkeypatch):
    monkeypatch.setattr("scope_core.store.journal.ADOPT_EVERY_S", 0.0)
    path = tmp_path / "journal.sqlite"
    live, dead = Journal(path), Journal(path)
    assert not live.needs_replay()
    dead.append("score", {"id": "run-9", "score": 1.0})

    def apply(kind: str, entries: list[Entry]) -> list[None]:
        return [None] * len(entries)

    assert live.needs_replay() and live.replay(apply) == {}, "a live owner's entries are its own"
    dead.close()  # its process ended while the store was down
    assert live.needs_replay() and len(live.replay(apply)) == 1 and live.pending() == 0
    assert not live.needs_replay()
