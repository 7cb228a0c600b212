"""detect on untrusted input: no verdict without a checked quality being said, none on NaN,
file names that cannot forge rows or formulas, and no blocking on FIFOs."""
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest

from kerastego.jobs.detect import KerasDetector, detect, format_rows
from kerastego.models import build_model
from kerastego.models.quality import QUALITY_UNKNOWN, table_for_quality
from kerastego.models.record import with_record

BIN = os.path.join(os.path.dirname(__file__), "..", "..", "bin")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A 64x64 hybrid saved without a quality record, one with QF75's, and one whose
    head is NaN (a diverged training)."""
    root = tmp_path_factory.mktemp("detect_trust")
    model = build_model("hybrid-type1", (64, 64, 1), input_kind="coefficients")
    paths = {"unrecorded": root / "unrecorded.keras", "qf75": root / "qf75.keras", "nan": root / "nan.keras"}
    model.save(paths["unrecorded"])
    with_record(model, "hybrid", [table_for_quality(75)]).save(paths["qf75"])
    head = model.get_layer("probabilities")
    head.set_weights([np.full_like(w, np.nan) for w in head.get_weights()])
    with_record(model, "hybrid", [table_for_quality(75)]).save(paths["nan"])
    return {k: str(v) for k, v in paths.items()}


def test_a_model_without_a_quality_record_says_quality_unknown_in_every_format(models, real_jpegs):
    rows = detect([str(p) for p in real_jpegs[:2]], KerasDetector(models["unrecorded"]))
    assert all(r["verdict"] in ("cover", "stego") and r["quality_warning"] == QUALITY_UNKNOWN for r in rows)
    table = format_rows(rows, "table").splitlines()
    assert all("?" in line.split()[0] and "UNRELIABLE: quality unknown: not checked" in line for line in table)
    assert all(r["quality_warning"] == QUALITY_UNKNOWN for r in json.loads(format_rows(rows, "json")))
    assert all(r["quality_warning"] == QUALITY_UNKNOWN for r in csv.DictReader(io.StringIO(format_rows(rows, "csv"))))
    recorded = detect([str(real_jpegs[0])], KerasDetector(models["qf75"]))
    assert recorded[0]["quality_warning"] == ""        # a QF75 file, a QF75 model: checked, nothing to say


def test_a_nan_probability_is_an_error_row_never_a_verdict(models, real_jpegs):
    rows = detect([str(real_jpegs[0])], KerasDetector(models["nan"]))
    assert rows[0]["verdict"] is None and rows[0]["probability"] is None
    assert "non-finite or out-of-range probability" in rows[0]["error"] and "no verdict" in rows[0]["error"]
    json.loads(format_rows(rows, "json"), parse_constant=lambda c: pytest.fail(f"JSON holds {c}"))
    r = subprocess.run([sys.executable, os.path.join(BIN, "detect"), f"--model={models['nan']}", "--format=json",
                        str(real_jpegs[0])], capture_output=True, text=True, timeout=600)
    assert r.returncode == 1, r.stderr[-2000:]
    assert json.loads(r.stdout)[0]["verdict"] is None and "NaN" not in r.stdout


def test_file_names_cannot_forge_rows_or_spreadsheet_formulas(models, real_jpegs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                   # names as a user types them: relative
    forged, formula = "x.jpg\nstego  p=1.0000  tiles=1   forged.jpg", "=1+2.jpg"
    for target in (forged, formula):
        shutil.copy(real_jpegs[0], target)
    rows = detect([forged, formula], KerasDetector(models["qf75"]))
    table = format_rows(rows, "table")
    assert len(table.splitlines()) == 2 and "\\n" in table and "forged.jpg" in table.splitlines()[0]
    cells = list(csv.reader(io.StringIO(format_rows(rows, "csv"))))
    assert cells[2][0] == "'=1+2.jpg"
    assert not any(c.startswith(("=", "+", "@")) for row in cells[1:] for c in row)


def test_a_fifo_in_a_folder_is_skipped_not_opened(models, real_jpegs, tmp_path):
    folder = tmp_path / "evidence"
    folder.mkdir()
    shutil.copy(real_jpegs[0], folder / "photo.jpg")
    os.mkfifo(folder / "pipe.jpg")
    done = {}
    worker = threading.Thread(target=lambda: done.update(rows=detect([str(folder)], KerasDetector(models["qf75"]))),
                              daemon=True)
    worker.start()
    worker.join(300)
    assert not worker.is_alive(), "detect blocked on a FIFO"
    by_name = {os.path.basename(r["file"]): r for r in done["rows"]}
    assert by_name["pipe.jpg"]["note"] == "skipped: not a regular file" and by_name["photo.jpg"]["verdict"]


def test_evaluate_gives_no_metric_on_nan_probabilities(models, small_dataset):
    from kerastego.evaluation import evaluate
    with pytest.raises(ValueError, match=r"nan: .* probabilities on .* are not finite numbers in \[0, 1\]: no metrics"):
        evaluate([models["nan"]], str(small_dataset["records"] / "test-*"), names=["nan"])
