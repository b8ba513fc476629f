"""Data loading: the shared folder layout, long CSV/JSONL files, and errors naming file, row, field."""

from __future__ import annotations

import gzip
import json

import pytest

from scope_core import BehaviourStore, DataFormatError, Router, load_dataset
from scope_core.data.dataset import fit_prices

from .conftest import data_path

HEADER = "prompt,model,score,input_tokens,output_tokens,cost_usd,task\n"


def write_long_csv(path, rows: list[str]) -> None:
    path.write_text(HEADER + "".join(r + "\n" for r in rows))


def test_long_csv_groups_outcomes_by_prompt_and_fits_prices(tmp_path):
    path = tmp_path / "runs.csv"
    write_long_csv(
        path,
        [
            "What is 2+2?,cheap,1,100,10,0.00003,math",
            "What is 2+2?,dear,1,100,10,0.0013,math",
            "Prove Fermat,cheap,0,200,400,0.00026,math",
            "Prove Fermat,dear,1,200,400,0.014,math",
        ],
    )
    ds = load_dataset(path)
    assert ds.name == "runs" and len(ds.prompts) == 2 and len(ds.outcomes) == 4
    assert ds.specs["dear"].input_price == pytest.approx(10.0, rel=1e-3)
    assert ds.specs["dear"].output_price == pytest.approx(30.0, rel=1e-3)
    assert ds.matrix("score").shape == (2, 2)


def test_jsonl_with_prompt_ids(tmp_path):
    path = tmp_path / "runs.jsonl.gz"
    rows = [{"prompt_id": "a", "prompt": "hi", "model": "m", "score": 0.5, "cost_usd": 0.001}]
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(json.dumps(r) for r in rows))
    ds = load_dataset(path)
    assert [p.id for p in ds.prompts] == ["a"] and ds.outcomes[0].score == 0.5


@pytest.mark.parametrize(
    ("row", "field", "problem"),
    [
        pytest.param("What?,cheap,1.5,1,1,0.1,t", "score", "[0, 1]", id="score: [0, 1]"),
        pytest.param("What?,cheap,abc,1,1,0.1,t", "score", "not a number", id="score: not a number"),
        pytest.param("What?,cheap,1,1,1,-2,t", "cost_usd", ">= 0", id="cost_usd: >= 0"),
        pytest.param("What?,cheap,1,1,1,nan,t", "cost_usd", "finite", id="cost_usd: finite"),
        pytest.param(",cheap,1,1,1,0.1,t", "prompt", "missing", id="prompt: missing"),
        pytest.param("What?,,1,1,1,0.1,t", "model", "missing", id="model: missing"),
    ],
)
def test_bad_rows_name_file_row_and_field(tmp_path, row, field, problem):
    path = tmp_path / "bad.csv"
    write_long_csv(path, ["Fine?,cheap,1,1,1,0.1,t", row])
    with pytest.raises(DataFormatError) as info:
        load_dataset(path)
    err = info.value
    assert (err.path, err.row, err.field) == (str(path), 3, field)
    assert problem in str(err) and "bad.csv, row 3" in str(err)


def test_bad_jsonl_line_and_missing_folder_files(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"prompt": "x", "model": "m", "score": 1}\n{not json}\n')
    with pytest.raises(DataFormatError, match=r"row 2.*invalid JSON"):
        load_dataset(path)
    (tmp_path / "folder").mkdir()
    with pytest.raises(DataFormatError, match=r"prompts\.csv\.gz"):
        load_dataset(tmp_path / "folder")
    with pytest.raises(DataFormatError, match="no such file"):
        load_dataset(tmp_path / "missing.csv")


def test_a_bad_file_leaves_the_store_untouched(tmp_path, embedder):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    write_long_csv(good, ["What is 2+2?,cheap,1,100,10,0.00003,math"])
    write_long_csv(bad, ["What is 3+3?,cheap,1,100,10,0.00003,math", "Oops,cheap,7,1,1,0.1,t"])
    router = Router(BehaviourStore.ephemeral(), embedder=embedder)
    router.ingest(load_dataset(good), progress=False)
    with pytest.raises(DataFormatError):
        router.ingest(load_dataset(bad), progress=False)
    assert router.store.count_outcomes() == 1 and router.store.count_prompts() == 1


def test_fit_prices_recovers_a_price_table():
    from scope_core.data.dataset import OutcomeRow

    rows = [OutcomeRow("p", "m", 1.0, i, 2 * i + 5, (i * 3.0 + (2 * i + 5) * 15.0) / 1e6) for i in range(1, 50)]
    assert fit_prices(rows)["m"] == pytest.approx((3.0, 15.0), rel=1e-6)


@pytest.mark.data
def test_shared_folder_layout_loads_with_prices():
    ds = load_dataset(data_path("mmlu-pro-29"))
    assert len(ds.specs) == 29 and len(ds.prompts) == 12_032
    # mmlu-pro-29 prices come from models.json, not from fitting
    raw = json.loads((data_path("mmlu-pro-29") / "models.json").read_text())["prices_usd_per_mtok"]
    name = next(iter(raw))
    assert ds.specs[name].input_price == raw[name]["input"]


@pytest.mark.parametrize(
    ("header", "missing"),
    [("prompt,score,cost_usd\n", "'model'"), ("text,model,score\n", "'prompt'"), ("prompt,model\n", "'score'")],
)
def test_missing_columns_are_named_as_columns(tmp_path, header, missing):
    path = tmp_path / "cols.csv"
    path.write_text(header + "a,b,c\n")
    with pytest.raises(DataFormatError, match=rf"row 1: missing column\(s\) {missing} \(found: "):
        load_dataset(path)


def test_duplicate_ids_in_the_long_format_are_refused(tmp_path):
    twice = tmp_path / "twice.csv"
    write_long_csv(twice, ["What?,cheap,1,1,1,0.1,t", "Else?,cheap,1,1,1,0.1,t", "What?,cheap,0,1,1,0.1,t"])
    with pytest.raises(DataFormatError, match=r"row 4, field 'model': duplicate outcome of model 'cheap'.*row 2"):
        load_dataset(twice)
    two_texts = tmp_path / "ids.jsonl"
    rows = [{"prompt_id": "p1", "prompt": "first text", "model": "m", "score": 1}]
    rows.append({"prompt_id": "p1", "prompt": "second text", "model": "n", "score": 1})
    two_texts.write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(DataFormatError, match=r"row 2, field 'prompt': prompt_id 'p1' has another text at row 1"):
        load_dataset(two_texts)


def test_encoding_errors_name_the_row(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(HEADER.encode() + b"Fine?,cheap,1,1,1,0.1,t\n" + "Caf\xe9?,cheap,1,1,1,0.1,t\n".encode("latin-1"))
    with pytest.raises(DataFormatError, match=r"latin\.csv, row 3: not valid UTF-8"):
        load_dataset(path)
    surrogate = tmp_path / "lone.jsonl"
    surrogate.write_text(
        '{"prompt": "ok", "model": "m", "score": 1}\n{"prompt": "bad \\ud800", "model": "m", "score": 1}\n'
    )
    with pytest.raises(DataFormatError, match=r"row 2, field 'prompt': not valid Unicode"):
        load_dataset(surrogate)
    listed = tmp_path / "list.jsonl"
    listed.write_text('{"prompt": ["a", "b"], "model": "m", "score": 1}\n')
    with pytest.raises(DataFormatError, match=r"row 1, field 'prompt': must be a string, got list"):
        load_dataset(listed)
