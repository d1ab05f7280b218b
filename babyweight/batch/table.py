"""A pushed version's prediction table, filled by the batch prediction job.

    path = fill(version_dir, max_rows=25_110, counts=None, beam_args=[...])

The rows the table holds are chosen by prediction_table.table_rows: the model's whole input
domain, or, when the domain has more rows than `max_rows`, the `max_rows` combinations seen most
often in the training data (`counts`, prediction_table.count_rows). They are written as a CSV
file with a key column (each row's index in the domain), and babyweight/batch/predict.py's job
(the same as `babyweight batch-predict`: CSV reader, checks, RunInference on the SavedModel, CSV
writer and counts) predicts them with the version itself. Its predictions are read back by key
into the table, written beside the version (prediction_table.write).

A job that loses a row (a dead-letter row, a count that does not add up) makes no table: a
TableError says how many rows went where.
"""

from __future__ import annotations

import csv
import os
import tempfile

from babyweight import features as F
from babyweight import prediction_table as T
from babyweight.batch import io as batch_io
from babyweight.batch.predict import run_job

import numpy as np

KEY = "domain_row"  # the key column: a row's index in the domain
LOCAL_BEAM_ARGS = ("--runner=DirectRunner", "--direct_running_mode=in_memory")


def selection_text(domain: T.Domain, rows: np.ndarray, counts) -> str:
    if len(rows) == domain.size:
        return f"the whole domain ({domain.size} rows)"
    covered = int(np.asarray(counts)[rows].sum())
    return (
        f"the {len(rows)} most frequent of {domain.size} combinations in {int(counts.sum())} "
        f"training rows ({covered} of them)"
    )


def write_rows_csv(path: str, domain: T.Domain, rows: np.ndarray) -> None:
    columns = domain.columns(rows)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([KEY, *F.FEATURE_KEYS])
        writer.writerows(zip(rows.tolist(), *(columns[k] for k in F.FEATURE_KEYS), strict=True))


def read_predictions(prefix: str, rows: np.ndarray) -> np.ndarray:
    """The job's predictions of `rows`, in their order, from its CSV shards (float32: the CSV
    holds the model's float32 values written exactly)."""
    lines = batch_io.read_text_shards(prefix, ".csv")
    header = ",".join([KEY, *F.FEATURE_KEYS, F.PREDICTION_KEY])
    keyed = {}
    for record in csv.reader(line for line in lines if line != header):
        keyed[int(record[0])] = float(record[-1])
    missing = [r for r in rows.tolist() if r not in keyed]
    if missing:
        raise T.TableError(f"prediction table: the job gave no prediction for {len(missing)} rows")
    return np.array([keyed[r] for r in rows.tolist()], dtype=np.float32)


def predict_rows(version_dir, rows: np.ndarray, beam_args=LOCAL_BEAM_ARGS) -> np.ndarray:
    """The batch prediction job's predictions (float32) for domain `rows` with the version."""
    from apache_beam.options.pipeline_options import PipelineOptions

    domain = T.Domain.from_features()
    with tempfile.TemporaryDirectory(prefix="prediction_table") as work:
        rows_csv = os.path.join(work, "rows.csv")
        write_rows_csv(rows_csv, domain, rows)
        sink = batch_io.FileSink(os.path.join(work, "predictions"), "csv")
        sink.prepare()
        counts = run_job(
            batch_io.FileSource(rows_csv, "csv"),
            sink,
            str(version_dir),
            PipelineOptions(list(beam_args)),
            key_column=KEY,
            counts_path=os.path.join(work, "counts.json"),
        )
        if counts["predictions"] != len(rows) or counts["dead_letter_rows"]:
            raise T.TableError(
                f"prediction table: the batch job predicted {counts['predictions']} of "
                f"{len(rows)} rows ({counts['dead_letter_rows']} dead-letter rows)"
            )
        return read_predictions(sink.prefix, rows)


def fill(version_dir, *, max_rows: int, counts=None, beam_args=LOCAL_BEAM_ARGS):
    """Choose the rows, predict them with the batch job, write the table beside the version;
    the table's path. TableError when no table can be made (the server then uses the model)."""
    domain = T.Domain.from_features()
    rows = T.table_rows(domain, max_rows, counts)
    predictions = predict_rows(version_dir, rows, beam_args)
    table = T.make(version_dir, rows, predictions, selection_text(domain, rows, counts))
    return T.write(version_dir, table)
