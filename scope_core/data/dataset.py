"""Outcome data sets: the folder layout of ``shared/data/*`` or one long CSV/JSONL file.

Folder: ``prompts.csv.gz`` (prompt_id, task, prompt) + ``outcomes.csv.gz`` (prompt_id, model,
score, input_tokens, output_tokens, cost_usd[, response]) + optional ``models.json``.
Long file (.csv, .jsonl, optionally .gz): one row per outcome with a ``prompt`` column,
plus ``model`` and ``score`` and the optional columns above.
Prices come from ``models.json`` (``prices_usd_per_mtok``) or, when absent, are fitted to the
recorded per-call costs (non-negative least squares on input and output tokens), else looked up in genai-prices;
``Dataset.declared`` names the models whose prices the data set declares (an ingest never lets fitted prices
replace a registered model's, see ``Router.ingest``), ``Dataset.unpriced`` those priced nowhere (an ingest
refuses to register them at $0). Capabilities come from ``models.json`` (``"capabilities": {"model": ["tools",
...]}``), else models.dev's catalogue (``scope_core.profiling.capabilities``). ``models.json`` may also list the
data set's ``models``; any other key is refused, naming it, unless its value is text (a note).

Every problem is a DataFormatError naming file, row and field: missing columns, a repeated
(prompt, model) pair, one prompt_id with two texts, text that is not valid UTF-8 or Unicode.
Data files are parsed as CSV or JSON only (never pickle or eval).
"""

from __future__ import annotations

import csv
import difflib
import gzip
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scope_core.errors import DataFormatError, InvalidInputError
from scope_core.outcome import Outcome, outcome_id, text_hash
from scope_core.specs import Capability, ModelSpec
from scope_core.validation import check_model_name

csv.field_size_limit(1 << 30)


@dataclass(frozen=True)
class PromptRow:
    id: str
    task: str | None
    text: str


@dataclass(frozen=True)
class OutcomeRow:
    prompt_id: str
    model: str
    score: float
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    response: str | None = None


@dataclass
class Dataset:
    """Prompts, outcomes and model specs of one data set."""

    name: str
    prompts: list[PromptRow]
    outcomes: list[OutcomeRow]
    specs: dict[str, ModelSpec]
    declared: frozenset[str] = frozenset()  # models whose prices come from models.json, not a fit
    unpriced: frozenset[str] = frozenset()  # models priced nowhere (their specs say $0 until registered)
    _by_prompt: dict[str, list[OutcomeRow]] | None = field(default=None, repr=False)

    @property
    def models(self) -> list[str]:
        return sorted(self.specs)

    def outcomes_by_prompt(self) -> dict[str, list[OutcomeRow]]:
        if self._by_prompt is None:
            grouped: dict[str, list[OutcomeRow]] = {}
            for row in self.outcomes:
                grouped.setdefault(row.prompt_id, []).append(row)
            self._by_prompt = grouped
        return self._by_prompt

    def to_outcomes(self, prompt: PromptRow, rows: Sequence[OutcomeRow]) -> list[Outcome]:
        """Outcome records with ids derived from (data set, prompt id, model): re-ingest is a no-op."""
        h = text_hash(prompt.text)
        fixed = {"prompt_hash": h, "task": prompt.task, "source": self.name, "timestamp": 0.0}
        usage = ("model", "score", "input_tokens", "output_tokens", "cost_usd")
        return [
            Outcome(id=outcome_id(self.name, prompt.id, r.model), **fixed, **{f: getattr(r, f) for f in usage})
            for r in rows
        ]

    def subset(self, prompt_ids: Sequence[str], models: Sequence[str] | None = None) -> Dataset:
        """The same data set restricted to some prompts (and optionally some models)."""
        keep, keep_models = set(prompt_ids), set(models) if models is not None else None
        return Dataset(
            name=self.name,
            prompts=[p for p in self.prompts if p.id in keep],
            outcomes=[
                o for o in self.outcomes if o.prompt_id in keep and (keep_models is None or o.model in keep_models)
            ],
            specs=self.specs if keep_models is None else {m: s for m, s in self.specs.items() if m in keep_models},
            declared=self.declared,
            unpriced=self.unpriced,
        )

    def matrix(self, attr: str, prompt_ids: Sequence[str] | None = None) -> np.ndarray:
        """(prompts x models) array of an outcome field (``score``, ``cost_usd``...); NaN where missing."""
        ids = [p.id for p in self.prompts] if prompt_ids is None else list(prompt_ids)
        row_of = {pid: i for i, pid in enumerate(ids)}
        col_of = {m: j for j, m in enumerate(self.models)}
        out = np.full((len(ids), len(col_of)), np.nan)
        for o in self.outcomes:
            i = row_of.get(o.prompt_id)
            value = getattr(o, attr)
            if i is not None and value is not None:
                out[i, col_of[o.model]] = value
        return out


# -- reading ---------------------------------------------------------------------------------
def _lines(path: Path) -> Iterator[str]:
    """The file's lines decoded one by one, so a byte that is not UTF-8 is reported with its line."""
    with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as raw:
        for n, line in enumerate(raw, start=1):
            try:
                yield line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataFormatError(
                    str(path), n, None, f"not valid UTF-8 ({exc.reason} at byte {exc.start} of the line)"
                ) from None


def _rows(path: Path, columns: Sequence[str] = ()) -> Iterator[tuple[int, dict]]:
    """(row number, record) pairs; CSV rows count from 2 (the header is row 1), JSONL lines from 1.

    A CSV header lacking one of ``columns`` is refused before any row is read.
    """
    is_jsonl = ".jsonl" in path.suffixes or ".json" in path.suffixes
    try:
        if is_jsonl:
            for n, line in enumerate(_lines(path), start=1):
                if line.strip():
                    yield n, _json_record(path, n, line)
            return
        reader = csv.DictReader(_lines(path))
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            found = ", ".join(reader.fieldnames or []) or "no header"
            names = ", ".join(repr(c) for c in missing)
            raise DataFormatError(str(path), 1, None, f"missing column(s) {names} (found: {found})")
        yield from enumerate(reader, start=2)
    except (OSError, EOFError, csv.Error) as exc:
        raise DataFormatError(str(path), None, None, f"cannot read file ({exc})") from None


def _json_record(path: Path, n: int, line: str) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataFormatError(str(path), n, None, f"invalid JSON ({exc.msg})") from None
    if not isinstance(record, dict):
        raise DataFormatError(str(path), n, None, "each line must be a JSON object")
    for key, value in record.items():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise DataFormatError(
                    str(path), n, key, f"not valid Unicode (lone surrogate at character {exc.start})"
                ) from None
    return record


def _need(path: Path, n: int, record: dict, name: str) -> str:
    value = record.get(name)
    if isinstance(value, list | dict | bool):
        raise DataFormatError(str(path), n, name, f"must be a string, got {type(value).__name__}")
    if value is None or str(value).strip() == "":
        raise DataFormatError(str(path), n, name, "missing value")
    return str(value)


def _optional_text(path: Path, n: int, record: dict, name: str) -> str | None:
    value = record.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise DataFormatError(str(path), n, name, f"must be a string, got {type(value).__name__}")
    return str(value)


def _number(path: Path, n: int, record: dict, name: str, *, integer: bool = False, required: bool = False):
    raw = record.get(name)
    if raw is None or str(raw).strip() == "":
        if required:
            raise DataFormatError(str(path), n, name, "missing value")
        return None
    try:
        if isinstance(raw, bool):
            raise TypeError
        value = float(raw)
    except (TypeError, ValueError):
        raise DataFormatError(str(path), n, name, f"not a number: {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise DataFormatError(str(path), n, name, f"must be a finite number >= 0, got {raw!r}")
    return round(value) if integer else value


def _outcome_row(path: Path, n: int, record: dict, prompt_id: str) -> OutcomeRow:
    score = _number(path, n, record, "score", required=True)
    if score > 1:
        raise DataFormatError(str(path), n, "score", f"must be in [0, 1], got {record['score']!r}")
    model = _need(path, n, record, "model")
    try:
        check_model_name(model)
    except InvalidInputError as exc:
        raise DataFormatError(str(path), n, "model", str(exc)) from None
    return OutcomeRow(
        prompt_id=prompt_id,
        model=model,
        score=score,
        input_tokens=_number(path, n, record, "input_tokens", integer=True),
        output_tokens=_number(path, n, record, "output_tokens", integer=True),
        cost_usd=_number(path, n, record, "cost_usd"),
        response=_optional_text(path, n, record, "response"),
    )


def _check_pair(path: Path, n: int, row: OutcomeRow, seen: dict[tuple[str, str], int]) -> None:
    """Refuse a second outcome of one model on one prompt (it would silently replace the first)."""
    first = seen.setdefault((row.prompt_id, row.model), n)
    if first != n:
        raise DataFormatError(
            str(path),
            n,
            "model",
            f"duplicate outcome of model {row.model!r} on prompt {row.prompt_id!r} (first at row {first})",
        )


def _load_folder(folder: Path) -> tuple[list[PromptRow], list[OutcomeRow]]:
    prompts_path, outcomes_path = folder / "prompts.csv.gz", folder / "outcomes.csv.gz"
    for p in (prompts_path, outcomes_path):
        if not p.exists():
            raise DataFormatError(
                str(p), None, None, "file not found (a data folder needs prompts.csv.gz and outcomes.csv.gz)"
            )
    prompts: dict[str, PromptRow] = {}
    for n, rec in _rows(prompts_path, ("prompt_id", "prompt")):
        pid = _need(prompts_path, n, rec, "prompt_id")
        if pid in prompts:
            raise DataFormatError(str(prompts_path), n, "prompt_id", f"duplicate prompt_id {pid!r}")
        prompts[pid] = PromptRow(
            pid, _optional_text(prompts_path, n, rec, "task"), _need(prompts_path, n, rec, "prompt")
        )
    outcomes, seen = [], {}
    for n, rec in _rows(outcomes_path, ("prompt_id", "model", "score")):
        pid = _need(outcomes_path, n, rec, "prompt_id")
        if pid not in prompts:
            raise DataFormatError(
                str(outcomes_path), n, "prompt_id", f"unknown prompt_id {pid!r} (not in prompts file)"
            )
        outcomes.append(_outcome_row(outcomes_path, n, rec, pid))
        _check_pair(outcomes_path, n, outcomes[-1], seen)
    return list(prompts.values()), outcomes


def _load_long(path: Path) -> tuple[list[PromptRow], list[OutcomeRow]]:
    prompts: dict[str, PromptRow] = {}
    first_row: dict[str, int] = {}
    outcomes, seen = [], {}
    for n, rec in _rows(path, ("prompt", "model", "score")):
        text = _need(path, n, rec, "prompt")
        pid = _optional_text(path, n, rec, "prompt_id") or text_hash(text)
        known = prompts.setdefault(pid, PromptRow(pid, _optional_text(path, n, rec, "task"), text))
        first_row.setdefault(pid, n)
        if known.text != text:
            raise DataFormatError(
                str(path),
                n,
                "prompt",
                f"prompt_id {pid!r} has another text at row {first_row[pid]}; ids must be unique",
            )
        outcomes.append(_outcome_row(path, n, rec, pid))
        _check_pair(path, n, outcomes[-1], seen)
    return list(prompts.values()), outcomes


def fit_prices(outcomes: Sequence[OutcomeRow]) -> dict[str, tuple[float, float]]:
    """Per-model (input, output) USD per 1M tokens that best explain recorded costs (NNLS)."""
    from scipy.optimize import nnls

    by_model: dict[str, list[OutcomeRow]] = {}
    for o in outcomes:
        if o.cost_usd is not None and o.input_tokens is not None and o.output_tokens is not None:
            by_model.setdefault(o.model, []).append(o)
    prices = {}
    for model, rows in by_model.items():
        a = np.asarray([[r.input_tokens, r.output_tokens] for r in rows], dtype=np.float64) / 1e6
        b = np.asarray([r.cost_usd for r in rows], dtype=np.float64)
        coef, _ = nnls(a, b)
        prices[model] = (float(coef[0]), float(coef[1]))
    return prices


MODELS_JSON_KEYS = ("prices_usd_per_mtok", "capabilities", "models")  # models: the data set's model names (a list)


def _models_json(path: Path) -> dict:
    """A data folder's ``models.json`` ({} when absent)."""
    models_json = path / "models.json"
    if not path.is_dir() or not models_json.exists():
        return {}
    try:
        data = json.loads(models_json.read_text())
    except json.JSONDecodeError as exc:
        raise DataFormatError(str(models_json), None, None, f"invalid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise DataFormatError(str(models_json), None, None, f"must be a JSON object, got {type(data).__name__}")
    for key, value in data.items():
        if key not in MODELS_JSON_KEYS and not isinstance(value, str):  # a text value is a note
            close = difflib.get_close_matches(key, MODELS_JSON_KEYS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(MODELS_JSON_KEYS)}"
            raise DataFormatError(
                str(models_json), None, key, f"unknown key {key!r} ({hint}; a key with a text value is a note)"
            )
    for model, entry in (data.get("prices_usd_per_mtok") or {}).items():
        if not isinstance(entry, dict) or set(entry) != {"input", "output"}:
            problem = f'a price entry must be {{"input": X, "output": Y}} (USD per 1M tokens), got {entry!r}'
            raise DataFormatError(str(models_json), None, model, problem)
    return data


def _capabilities(path: Path, model: str, declared: object) -> frozenset[Capability]:
    """A model's capabilities as ``models.json`` declares them (a list of names)."""
    valid = ", ".join(c.value for c in Capability)
    if not isinstance(declared, list) or any(c not in {v.value for v in Capability} for c in declared):
        problem = f"capabilities must be a list of {valid}, got {declared!r}"
        raise DataFormatError(str(path / "models.json"), None, model, problem)
    return frozenset(Capability(c) for c in declared)


def _specs(path: Path, outcomes: Sequence[OutcomeRow]) -> tuple[dict[str, ModelSpec], frozenset[str], frozenset[str]]:
    """Each model's spec, the models whose prices ``models.json`` declares, and the models priced nowhere (no
    declared price, no costs to fit, unknown to genai-prices: $0 stands in until an ingest decides)."""
    from scope_core.profiling.capabilities import looked_up_capabilities
    from scope_core.profiling.lookup import price_of

    declared = _models_json(path)
    table, capabilities = declared.get("prices_usd_per_mtok") or {}, declared.get("capabilities") or {}
    unpriced_rows = [o for o in outcomes if o.model not in table]
    fitted = fit_prices(unpriced_rows) if unpriced_rows else {}
    specs, unpriced = {}, set()
    for model in sorted({o.model for o in outcomes}):
        caps = _capabilities(path, model, capabilities[model]) if model in capabilities else None
        if model in table:
            try:
                price = (table[model]["input"], table[model]["output"])
            except (KeyError, TypeError) as exc:
                raise DataFormatError(str(path / "models.json"), None, model, f"bad price entry ({exc})") from None
        else:
            price = fitted.get(model) or price_of(model)
            unpriced.update([model] if price is None else [])
        try:
            specs[model] = ModelSpec(
                name=model,
                input_price=(price or (0.0, 0.0))[0],
                output_price=(price or (0.0, 0.0))[1],
                capabilities=(looked_up_capabilities(model) or frozenset()) if caps is None else caps,
            )
        except ValueError as exc:
            raise DataFormatError(str(path / "models.json"), None, model, f"bad price entry ({exc})") from None
    return specs, frozenset(m for m in specs if m in table), frozenset(unpriced)


def load_dataset(path: str | Path, name: str | None = None) -> Dataset:
    """Load a data folder or a long CSV/JSONL file (errors name file, row and field)."""
    path = Path(path)
    if path.is_dir():
        prompts, outcomes = _load_folder(path)
    elif path.exists():
        prompts, outcomes = _load_long(path)
    else:
        raise DataFormatError(str(path), None, None, "no such file or folder")
    if not outcomes:
        raise DataFormatError(str(path), None, None, "no outcome rows")
    stem = path.name.split(".")[0]
    specs, declared, unpriced = _specs(path, outcomes)
    return Dataset(name or stem, prompts, outcomes, specs, declared, unpriced)
