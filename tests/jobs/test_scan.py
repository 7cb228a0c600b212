"""bin/scan on one machine: the rows detect gives, tiles of many files packed into full
batches, a resumable output (a cut line repaired, finished files skipped, another model
refused)."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from kerastego.jobs.detect import KerasDetector, detect
from kerastego.jobs.scan import ScanOutput, scan
from kerastego.models import build_model
from kerastego.models.quality import table_for_quality, with_training_tables

BIN = os.path.join(os.path.dirname(__file__), "..", "..", "bin")
FIELDS = ("probability", "verdict", "tiles", "note", "error", "quality_warning")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, real_jpegs):
    """Good QF75 files, a 128x64 one (2 tiles), a QF30 one, a non-JPEG and a cut JPEG."""
    import jpeglib
    from skimage import data
    root = tmp_path_factory.mktemp("corpus")
    (root / "sub").mkdir()
    for p in real_jpegs[:6]:
        shutil.copy(p, root / "sub" / p.name)
    wide = data.camera()[:64, :128]
    jpeglib.from_spatial(np.ascontiguousarray(wide)[..., None]).write_spatial(str(root / "wide.jpg"), qt=75)
    jpeglib.from_spatial(np.ascontiguousarray(wide[:, :64])[..., None]).write_spatial(str(root / "qf30.jpg"), qt=30)
    (root / "notes.txt").write_text("not a picture")
    whole = real_jpegs[0].read_bytes()
    (root / "cut.jpg").write_bytes(whole[:len(whole) // 2])
    model = with_training_tables(build_model("hybrid-type2", (64, 64, 1), input_kind="coefficients"),
                                 [table_for_quality(75)])
    model.save(root / "model.keras")
    return root


class Counting:
    """A detector that records the batch sizes it is called with."""

    def __init__(self, detector):
        self.detector, self.size, self.training_tables, self.calls = detector, detector.size, \
            detector.training_tables, []

    def __call__(self, c, q):
        self.calls.append(len(c))
        return self.detector(c, q)


def _rows(path):
    lines = open(path).read().splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


def test_scan_rows_equal_detects_and_batches_are_full(corpus, tmp_path):
    detector = KerasDetector(str(corpus / "model.keras"))
    counting = Counting(detector)
    summary = scan([str(corpus)], counting, str(tmp_path / "rows.jsonl"), "m", batch_size=4, workers=0)
    header, rows = _rows(tmp_path / "rows.jsonl")
    assert header == {"kerastego_scan": 1, "model": "m"}
    expected = {r["file"]: r for r in detect([str(corpus)], detector)}
    by_file = {r["file"]: r for r in rows}
    assert set(by_file) == set(expected)          # the skipped model.keras and notes.txt included
    for name, want in expected.items():
        got = by_file[name]
        for field in FIELDS:
            if field == "probability" and want[field] is not None:
                assert got[field] == pytest.approx(want[field], abs=1e-6), name
            else:
                assert got[field] == want[field], (name, field)
    assert counting.calls[:-1] == [4] * (len(counting.calls) - 1) and sum(counting.calls) == 6 + 2 + 1
    assert summary["errors"] == 1 and summary["unreliable"] == 1 and summary["files"] == len(rows)


def test_a_rerun_resumes_after_a_cut_line_and_another_model_is_refused(corpus, tmp_path):
    out = str(tmp_path / "rows.jsonl")
    detector = KerasDetector(str(corpus / "model.keras"))
    scan([str(corpus / "sub")], detector, out, "m", batch_size=4, workers=0)
    lines = open(out).read().splitlines(keepends=True)
    open(out, "w").write("".join(lines[:-1]) + lines[-1][:25])     # killed while writing the last row
    counting = Counting(detector)
    again = scan([str(corpus / "sub")], counting, out, "m", batch_size=4, workers=0)
    assert again["files"] == 1 and sum(counting.calls) == 1        # only the cut row is scored again
    _, rows = _rows(out)
    assert sorted(r["file"] for r in rows) == sorted(str(p) for p in (corpus / "sub").iterdir())
    with pytest.raises(ValueError, match="written with another model \\(m\\); this one is other"):
        ScanOutput(out, "other")


def test_bin_scan_reads_in_workers_and_exits_1_on_errors(corpus, tmp_path):
    out = tmp_path / "rows.jsonl"
    r = subprocess.run([sys.executable, os.path.join(BIN, "scan"), f"--model={corpus / 'model.keras'}",
                        f"--output={out}", "--workers=2", "--batch_size=8", str(corpus / "*.jpg"), str(corpus / "sub")],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 1, r.stderr[-2000:]                     # the cut JPEG
    summary = [line for line in r.stderr.splitlines() if line.startswith("scan: files")][-1]
    assert "files 9" in summary and "errors 1" in summary and "files_per_s" in summary
    header, rows = _rows(out)
    assert header["model"].startswith("sha256 ") and len(rows) == 9
