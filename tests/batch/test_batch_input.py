"""batch-predict's input side without a model: CSV records, the vectorised checks, and the
command's one-line refusals (issues 11 and 13).

Files are made from real rows of data/births.csv. The job's read-and-check half runs on Beam's
DirectRunner (batch_predict.dead_letter_rows); the model is not needed for any of these.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import pathlib
import subprocess
import sys
import time

from babyweight import features as F
from babyweight.batch import batches as B
from babyweight.batch import cli as batch_cli
from babyweight.batch import csv_reader
from babyweight.batch import io as batch_io
from babyweight.batch import predict as batch_predict
from babyweight.errors import ExitCode, UsageError
from babyweight.instances import InvalidInstance, parse_instance, read_instance_columns

import numpy as np
import pyarrow as pa
import pytest
from bad_rows import BIRTHS, CHANGED_ROWS, real_rows
from helpers import REPO


def write_lines(path, header: list[str], rows: list[list[str]], extra: bytes = b"") -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(out.getvalue().encode() + extra)
    return str(path)


def keyed_rows(n: int, every: int = 13) -> tuple[list[str], list[list[str]]]:
    """`n` real rows of data/births.csv with an `id` column first."""
    header, rows = real_rows()
    picked = [r for r in rows if all(r)][::every][:n]
    return ["id", *header], [[f"row-{i}", *r] for i, r in enumerate(picked)]


def rows_csv(tmp_path, n: int = 5) -> str:
    return write_lines(tmp_path / "rows.csv", *keyed_rows(n))


def run_with_store(tmp_path, store: bytes):
    """A run's output directory whose metadata.sqlite holds `store`."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "metadata.sqlite").write_bytes(store)
    return run


def dead_by_id(dead: list[dict]) -> dict:
    return {r["id"] or r["input"]: r for r in dead}


# ------------------------------------------------------------------------------- CSV records


def test_a_byte_that_is_not_utf8_costs_its_own_record_only(tmp_path):
    header, rows = keyed_rows(30)
    age = header.index(F.MOTHER_AGE)
    text = "\n".join(",".join(r) for r in [header, *rows]) + "\n"
    bad_line = ",".join(rows[7])
    broken = bad_line.replace(f",{rows[7][age]},", f",{rows[7][age][0]}\xff{rows[7][age][1:]},")
    data = text.encode().replace(bad_line.encode(), broken.encode("latin-1"))
    path = tmp_path / "latin1.csv"
    path.write_bytes(data)

    total, dead = batch_predict.dead_letter_rows(batch_io.make_source(str(path)), key_column="id")

    assert total == len(rows)
    [row] = dead
    assert row["field"] == "row"
    assert row["reason"] == "csv: not UTF-8 text (column 'mother_age')"
    assert "\\xff" in row["input"] and row["input"].startswith("row-7,")


def test_a_quoted_newline_is_one_record_that_keeps_its_key(tmp_path):
    header, rows = keyed_rows(20)
    source = header.index("source")
    rows[3][source] = "Stat2Data/NCbirths\nsecond line of a note"
    rows[4][F.FEATURE_KEYS.index(F.PLURALITY) + 2] = "9"  # a bad value after it, still found
    path = write_lines(tmp_path / "quoted.csv", header, rows)
    assert len(open(path).read().splitlines()) == len(rows) + 2  # lines != records

    total, dead = batch_predict.dead_letter_rows(batch_io.make_source(path), key_column="id")

    assert total == len(rows)  # records, not lines
    assert list(dead_by_id(dead)) == ["row-4"]
    ranges = csv_reader.file_ranges(path)
    [batch] = list(csv_reader.read_range(ranges[0]))
    assert batch.record(3)["source"] == rows[3][source]
    assert batch.record(3)["id"] == "row-3"


def raw_csv(path, header: list[str], rows: list[list[str]]) -> str:
    """Lines joined as written, quotes and all (csv.writer would escape a stray quote)."""
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    return str(path)


@pytest.mark.parametrize("closed", [True, False])
def test_an_unterminated_quote_that_swallows_lines_says_so(tmp_path, closed):
    """A quote opened in row 5's `source` runs on to a stray quote in row 30 (the one record
    then has the header's number of fields, and read as a row), or to the end of the file."""
    header, rows = keyed_rows(50)
    source = header.index("source")
    rows[5][source] = '"an unclosed note'
    if closed:
        rows[30][source] = 'a stray quote"'
    path = raw_csv(tmp_path / "quote.csv", header, rows)

    total, dead = batch_predict.dead_letter_rows(batch_io.make_source(path), key_column="id")

    swallowed = 25 if closed else 44  # physical lines after line 7 (row 5) in the record
    assert total == len(rows) - swallowed
    [row] = dead
    assert row["reason"] == f"csv: unterminated quote from line 7 swallowed {swallowed} lines"
    assert row["input"].startswith("row-5,")


def test_a_quoted_field_of_a_few_lines_is_still_one_record(tmp_path):
    header, rows = keyed_rows(20)
    rows[3][header.index("source")] = "\n".join(["a note"] * 10)  # 10 lines: within the bound
    path = write_lines(tmp_path / "quoted.csv", header, rows)
    total, dead = batch_predict.dead_letter_rows(batch_io.make_source(path), key_column="id")
    assert (total, dead) == (len(rows), [])


def test_cut_ranges_read_the_same_records_as_the_whole_file(tmp_path):
    header, rows = keyed_rows(200, every=7)
    path = write_lines(tmp_path / "many.csv", header, rows)
    ranges = csv_reader.file_ranges(path, range_bytes=500)
    assert len(ranges) > 5 and all(not r.quoted for r in ranges)
    got = [
        batch.record(i)
        for r in ranges
        for batch in csv_reader.read_range(r, batch_size=16)
        for i in range(batch.rows)
    ]
    with open(path, newline="") as f:
        assert got == list(csv.DictReader(f))


@pytest.mark.parametrize("scan_bytes", [csv_reader.SCAN_BYTES, 333])  # 333: cuts across reads
def test_a_file_is_cut_in_ranges_of_one_size_with_no_short_last_one(
    tmp_path, monkeypatch, scan_bytes
):
    """A runner hands each worker the same number of ranges: their sizes must match too."""
    monkeypatch.setattr(csv_reader, "SCAN_BYTES", scan_bytes)
    header, rows = keyed_rows(200, every=7)
    path = write_lines(tmp_path / "many.csv", header, rows)
    data_bytes = os.path.getsize(path) - csv_reader.read_header(path)[1]
    for range_bytes in (40, 500, 700, 1300):
        ranges = csv_reader.file_ranges(path, range_bytes=range_bytes)
        sizes = [(r.end or os.path.getsize(path)) - r.start for r in ranges]
        assert len(ranges) == min(round(data_bytes / range_bytes), len(rows))  # or a line each
        with open(path, "rb") as f:
            longest_line = max(map(len, f))
        assert max(sizes) - min(sizes) <= 2 * longest_line, sizes  # each cut waits for a newline
        with open(path, newline="") as f:
            assert [
                batch.record(i)
                for r in ranges
                for batch in csv_reader.read_range(r)
                for i in range(batch.rows)
            ] == list(csv.DictReader(f))


def test_a_file_with_quotes_is_one_range(tmp_path):
    header, rows = keyed_rows(50)
    rows[10][header.index("source")] = 'a "quoted" word'
    path = write_lines(tmp_path / "q.csv", header, rows)
    [whole] = csv_reader.file_ranges(path, range_bytes=100)
    assert whole.quoted and whole.end is None


def test_records_that_are_not_rows_are_reasons_in_their_batch(tmp_path):
    header, rows = keyed_rows(5)
    extra = b"short,True,30\n   \n\n" + b",".join(v.encode() for v in [*rows[0], "x"]) + b"\n"
    path = write_lines(tmp_path / "shapes.csv", header, rows, extra)
    [batch] = list(csv_reader.read_range(csv_reader.file_ranges(path)[0]))
    assert batch.rows == 5
    width = len(header)
    assert batch.unreadable == [
        (f"csv: expected {width} fields, got 3", "short,True,30"),
        ("csv: empty line", "   "),
        (f"csv: expected {width} fields, got {width + 1}", ",".join([*rows[0], "x"])),
    ]  # the blank line is not a record


def test_a_glob_without_files_and_an_empty_file_are_one_line(tmp_path):
    with pytest.raises(csv_reader.CsvInputError, match=r"^--input '.*nothing/\*\.csv': no file"):
        batch_io.csv_header(str(tmp_path / "nothing" / "*.csv"))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(csv_reader.CsvInputError, match="empty.csv: no header"):
        batch_io.csv_header(str(tmp_path / "empty.csv"))


def test_jsonl_line_that_is_not_utf8_is_a_reason():
    raw, reason = batch_io.parse_json_line(b'{"is_male": "Tr\xffue"}')
    assert reason.startswith("json: not UTF-8 text") and "\\xff" in raw
    assert batch_io.parse_json_line(b"[1, 2]")[1] == "json: expected an object per line"
    assert batch_io.parse_example(b"\xff\xfe not a proto")[1].startswith(
        "tfrecord: not a tf.Example"
    )


# ------------------------------------------------------------------- the checks, by column


def raw_values() -> list[dict]:
    """Real rows of data/births.csv as CSV strings, with each changed field of bad_rows.py,
    and the same rows typed as JSON and BigQuery send them (bool, int, float, None, lists)."""
    with open(BIRTHS, newline="") as f:
        rows = [{k: r[k] for k in F.FEATURE_KEYS} for r in csv.DictReader(f)][::40]
    changed = [{**rows[i], **c} for i, (_, c) in enumerate(CHANGED_ROWS) if "id" not in c]
    typed = []
    for r in rows[:40]:
        typed.append(
            {
                F.IS_MALE: r[F.IS_MALE] == "True",
                F.MOTHER_AGE: int(r[F.MOTHER_AGE]),
                F.PLURALITY: int(r[F.PLURALITY]),
                F.GESTATION_WEEKS: float(r[F.GESTATION_WEEKS]) if r[F.GESTATION_WEEKS] else None,
            }
        )
    odd = [
        {F.IS_MALE: 1, F.MOTHER_AGE: True, F.PLURALITY: 1.0, F.GESTATION_WEEKS: 39},
        {F.IS_MALE: 1.0, F.MOTHER_AGE: 30.0, F.PLURALITY: True, F.GESTATION_WEEKS: [39]},
        {F.IS_MALE: "Unknown", F.MOTHER_AGE: 10**40, F.PLURALITY: "Multiple(2+)"},
        {F.IS_MALE: {"a": 1}, F.MOTHER_AGE: float("nan"), F.PLURALITY: 2, F.GESTATION_WEEKS: 30},
    ]
    return rows + changed + typed + odd


def test_column_checks_equal_parse_instance_row_by_row():
    rows = raw_values()
    columns = {k: [r.get(k) for r in rows] for k in F.FEATURE_KEYS}
    read = read_instance_columns(columns, len(rows))
    valid_rows = []
    for i, row in enumerate(rows):
        try:
            instance = parse_instance(row)
        except InvalidInstance as e:
            assert not read.valid[i], row
            got = read.errors[i]
            assert (got.field, got.value, got.reason) == (e.field, e.value, e.reason), row
            continue
        assert read.valid[i], row
        valid_rows.append(instance)
    assert len(valid_rows) > 40 and len(read.errors) > 20
    assert read.inputs[F.IS_MALE].tolist() == [i.is_male.encode() for i in valid_rows]
    assert read.inputs[F.PLURALITY].tolist() == [i.plurality.encode() for i in valid_rows]
    assert read.inputs[F.MOTHER_AGE].tolist() == [i.mother_age for i in valid_rows]
    assert read.inputs[F.GESTATION_WEEKS].tolist() == [i.gestation_weeks for i in valid_rows]


def test_column_checks_read_pyarrow_columns_as_the_lists():
    rows = [r for r in raw_values() if all(isinstance(v, str) for v in r.values())]
    as_lists = {k: [r[k] for r in rows] for k in F.FEATURE_KEYS}
    as_arrow = {k: pa.array(v, pa.string()) for k, v in as_lists.items()}
    a, b = read_instance_columns(as_lists, len(rows)), read_instance_columns(as_arrow, len(rows))
    assert a.valid.tolist() == b.valid.tolist()
    assert {i: str(e) for i, e in a.errors.items()} == {i: str(e) for i, e in b.errors.items()}
    for key in F.FEATURE_KEYS:
        assert a.inputs[key].tolist() == b.inputs[key].tolist()


def test_prediction_csv_text_equals_the_row_by_row_writer():
    rows = [r for r in raw_values()[:60] if all(isinstance(v, str) for v in r.values())]
    keys = [f"key {i}" for i in range(len(rows))]
    columns = {**{k: pa.array([r[k] for r in rows]) for k in F.FEATURE_KEYS}, "id": pa.array(keys)}
    instances, _ = B.check(B.RecordBatch(columns, len(rows)), "id")
    values = np.array([7.25, 7.0, 1e-05, 12345678.0, 6.8685736656188965, float("nan")] * 20)
    batch = B.PredictionBatch(instances, values[: len(instances)].astype(np.float32))
    names = batch_io.prediction_columns("id")
    want = "\n".join(batch_io.csv_line(row, names) for row in batch.rows())
    assert batch.csv_text() == want
    assert all(f",{v}\n" in want for v in ("7.0", "9.999999747378752e-06", "12345678.0"))
    quoted = B.PredictionBatch(B.InstanceBatch(instances.inputs, "id", ["a,b"] * len(instances)),
                               batch.predictions)  # fmt: skip
    assert quoted.csv_text() is None  # keys that need quoting go row by row


# ------------------------------------------------------------- the command's one-line refusals


def store_refusal(*args: str) -> str:
    """The one-line StoreError that `babyweight batch-predict` prints (exit 2)."""
    from babyweight.metadata.store import StoreError

    with pytest.raises(StoreError) as error:
        batch_cli.main(list(args))
    assert "\n" not in str(error.value)
    return str(error.value)


def refusal(*args: str) -> str:
    """The one-line UsageError (exit 2) that stops the command before the job starts."""
    with pytest.raises(UsageError) as stop:
        batch_cli.main(list(args))
    assert stop.value.code == ExitCode.USAGE
    assert "\n" not in str(stop.value)
    return str(stop.value)


def test_a_glob_that_matches_nothing_is_one_line(tmp_path):
    message = refusal("--input", str(tmp_path / "in" / "*.csv"), "--predictions", "p")
    assert message.endswith("no file matches") and "in/*.csv" in message


def test_a_bigquery_table_name_bigquery_would_refuse_is_one_line():
    message = refusal("--input", "bq://p.d.t", "--predictions", "out/p")
    assert message.startswith("--input bq://p.d.t: not a BigQuery table name")


def test_without_credentials_bigquery_fails_at_once_with_how_to_sign_in(tmp_path):
    # A realistic table and no credentials: one line, quickly, never a browser sign-in prompt
    # (stdin stays open; a prompt would wait on it until the timeout).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "CLOUDSDK_"))}
    env.update(HOME=str(tmp_path), CLOUDSDK_CONFIG=str(tmp_path / "gcloud"))
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "babyweight", "batch-predict", "--input",
         "bq://bigquery-public-data.samples.natality", "--predictions", str(tmp_path / "p")],
        cwd=REPO, env=env, stdin=subprocess.PIPE, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    elapsed = time.monotonic() - start
    assert result.returncode == ExitCode.USAGE
    [line] = [x for x in result.stderr.splitlines() if "Warning" not in x and "warn" not in x]
    assert line.startswith(
        "babyweight batch-predict: --input bq://bigquery-public-data.samples.natality: no Google"
    )
    assert "gcloud auth application-default login" in line
    assert elapsed < 60, elapsed  # process start and imports only


@contextlib.contextmanager
def unwritable_dir(path):
    """A directory nobody can create entries in: mode 0o555, and for root (whom modes do not
    stop) the immutable attribute as well (chattr +i)."""
    path.mkdir()
    path.chmod(0o555)
    immutable = False
    try:
        try:
            (path / "probe").mkdir()
            (path / "probe").rmdir()
            immutable = subprocess.run(["chattr", "+i", str(path)]).returncode == 0
            if not immutable:
                pytest.skip("no way to make a directory unwritable for this user")
        except OSError:
            pass
        yield path
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o755)


def fake_model(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "saved_model.pb").write_bytes(b"")  # checked for, never loaded here
    return model


def predict_refusal(tmp_path, prefix) -> subprocess.CompletedProcess:
    args = ["--model", str(fake_model(tmp_path)), "--no-record", "--input", rows_csv(tmp_path)]
    return subprocess.run(
        [sys.executable, "-m", "babyweight", "batch-predict", *args, "--predictions", prefix],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_predictions_in_a_directory_that_cannot_be_written_is_one_line_exit_2(tmp_path):
    with unwritable_dir(tmp_path / "ro") as ro:
        result = predict_refusal(tmp_path, str(ro / "preds"))
        assert list(ro.iterdir()) == []
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(
        f"babyweight batch-predict: --predictions {ro}/preds: cannot write in {ro} ("
    )
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_predictions_under_a_directory_that_cannot_be_made_is_one_line_exit_2(tmp_path):
    (tmp_path / "a_file").write_text("not a directory\n")
    prefix = tmp_path / "a_file" / "sub" / "preds"
    result = predict_refusal(tmp_path, str(prefix))
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = result.stderr.splitlines()
    assert line == (
        f"babyweight batch-predict: --predictions {prefix}: cannot create the directory "
        f"{prefix.parent} (Not a directory)"
    )


def test_shards_of_an_earlier_run_stop_the_run_unless_overwrite(tmp_path):
    data = rows_csv(tmp_path)
    model = tmp_path / "model"
    model.mkdir()
    (model / "saved_model.pb").write_bytes(b"")
    old = tmp_path / "out" / "p-00002-of-00003.csv"
    old.parent.mkdir()
    old.write_text("id,is_male\nold,True\n")
    message = refusal(
        "--model", str(model), "--no-record", "--input", data, "--predictions",
        str(tmp_path / "out" / "p"),
    )  # fmt: skip
    assert "an earlier run's outputs are there" in message and "--overwrite" in message
    assert str(old) in message and old.exists()


def test_overwrite_removes_this_prefixs_outputs_and_nothing_else(tmp_path):
    sink = batch_io.make_sink(str(tmp_path / "p"))
    mine = ["p-00000-of-00002.csv", "p-dead_letter-00000-of-00001.jsonl", "p-counts.json"]
    others = ["p2-00000-of-00001.csv", "p-notes.txt", "other-00000-of-00001.csv"]
    for name in mine + others:
        (tmp_path / name).write_text("x\n")
    batch_cli.clear_earlier_outputs(sink, str(tmp_path / "p-counts.json"), overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(others)


def killed_run_leftovers(out) -> list:
    """What a batch-predict killed with SIGKILL leaves beside `out/p`: Beam's temp directory
    with a half-written shard, in the staging directory (this version) or beside the prefix
    (versions before it)."""
    staged = out / ".staging" / "p" / "beam-temp-p-5f0e" / "0b1c.csv.partial"
    old = out / "beam-temp-p-9a8b" / "77aa.csv"
    for path in (staged, old):
        path.parent.mkdir(parents=True)
        path.write_text("id,is_male\nhalf,Tr")
    return [staged, old]


def test_a_rerun_removes_what_a_killed_run_left_and_nothing_else(tmp_path, capsys):
    out = tmp_path / "out"
    killed_run_leftovers(out)
    (out / "notes.csv").write_text("mine\n")
    (out / ".staging" / "other").mkdir()  # another prefix's run, in progress
    sink = batch_io.make_sink(str(out / "p"))
    batch_cli.prepare_predictions(sink)
    assert "removed what an earlier run that did not finish left" in capsys.readouterr().out
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    assert left == [".staging", ".staging/other", ".staging/p", "notes.csv"]


def test_a_job_writes_where_no_reader_looks_and_commits_the_counts_last(tmp_path):
    """The sink's files before and after commit, as the job leaves them (shards named by
    WriteToText in the staging directory)."""
    import glob

    out = tmp_path / "out"
    sink = batch_io.make_sink(str(out / "p"))
    sink.prepare()
    shards = ["p-00000-of-00002.csv", "p-00001-of-00002.csv", "p-dead_letter-00000-of-00001.csv"]
    for name in shards:
        pathlib.Path(sink.staged(str(out / name)) + batch_io.STAGED_SUFFIX).write_text("x\n")
    counts = str(out / "p-counts.json")
    pathlib.Path(sink.staged(counts)).write_text('{"input_rows": 0}')
    # Before the commit, a reader of the outputs finds nothing, however it looks.
    assert glob.glob(f"{out}/**/*.csv", recursive=True) == []
    assert [p for p in out.rglob("*.csv")] == []
    sink.commit(sink.staged(counts), counts)
    assert sorted(p.name for p in out.iterdir()) == sorted([*shards, "p-counts.json"])


# ------------------------------------------------------------------------ the metadata store


def test_an_empty_store_is_not_written_to_when_only_read(tmp_path):
    run = run_with_store(tmp_path, b"")
    # Finding the model only reads the store (the run would be recorded after that).
    message = store_refusal("--output", str(run), "--input", rows_csv(tmp_path), "--predictions",
                            str(tmp_path / "p"))  # fmt: skip
    assert message.startswith(f"{run / 'metadata.sqlite'}: cannot read this ML Metadata store")
    assert (run / "metadata.sqlite").stat().st_size == 0  # opened read-only: nothing created


@pytest.mark.parametrize("damage", ["truncated", "overwritten"])
def test_a_damaged_store_is_one_line_naming_it(tmp_path, damage):
    from lineage_store import build

    build(tmp_path / "whole.sqlite")
    whole = (tmp_path / "whole.sqlite").read_bytes()
    damaged = whole[: len(whole) // 3] if damage == "truncated" else whole[:4096] + bytes(60000)
    run = run_with_store(tmp_path, damaged)
    message = store_refusal("--output", str(run), "--input", rows_csv(tmp_path), "--predictions",
                            str(tmp_path / "p"))  # fmt: skip
    assert message.startswith(f"{run / 'metadata.sqlite'}: cannot read this ML Metadata store")
    assert "query" not in message and len(message) < 300
