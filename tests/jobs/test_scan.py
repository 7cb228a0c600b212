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

from harness import Counting
from kerastego.jobs.detect import KerasDetector, detect
from kerastego.jobs.scan import ScanOutput, scan

BIN = os.path.join(os.path.dirname(__file__), "..", "..", "bin")
FIELDS = ("probability", "verdict", "tiles", "note", "error", "quality_warning")


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
    summary = [line for line in r.stderr.splitlines() if line.startswith("scan: files")]
    assert summary, r.stderr[-3000:]
    summary = summary[-1]
    assert "files 9" in summary and "errors 1" in summary and "files_per_s" in summary
    header, rows = _rows(out)
    assert header["model"].startswith("sha256 ") and len(rows) == 9


CHILDREN = os.path.join(os.path.dirname(__file__), "scan_children.py")


def _child(*args):
    """A scan child process under the light numpy Keras backend (no TensorFlow)."""
    env = {**os.environ, "KERAS_BACKEND": "numpy",
           "PYTHONPATH": os.pathsep.join([os.path.dirname(CHILDREN), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, CHILDREN, *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=1200)


def _mean_rows(folder, output):
    sys.path.insert(0, os.path.dirname(CHILDREN))
    from scan_children import MeanDetector
    scan([str(folder)], MeanDetector(64), str(output), "mean", batch_size=4, workers=0)
    return _rows(output)[1]


def test_a_scan_killed_with_sigkill_loses_only_the_rows_in_flight(real_jpegs, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for p in real_jpegs:
        shutil.copy(p, folder / p.name)
    out = tmp_path / "rows.jsonl"
    killed = _child("killed", folder, out, 3)             # SIGKILL in the 3rd model call (4 tiles each)
    assert killed.returncode == -9, killed.stderr[-2000:]
    _, before = _rows(out)
    assert len(before) == 8                                 # 2 batches of 4 one-tile files were written
    resumed = _mean_rows(folder, out)
    complete = _mean_rows(folder, tmp_path / "fresh.jsonl")
    assert len(resumed) == len(real_jpegs) == 12 and resumed[:8] == before
    assert sorted(map(json.dumps, resumed)) == sorted(map(json.dumps, complete))


def _copies(folder, n, jpeg_bytes):
    for i in range(n):
        sub = folder / f"{i // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{i:06d}.jpg").write_bytes(jpeg_bytes)


def test_memory_of_a_scan_does_not_grow_with_the_corpus(real_jpegs, tmp_path):
    import jpeglib
    jpeglib.from_spatial(np.full((16, 16, 1), 100, np.uint8)).write_spatial(str(tmp_path / "one.jpg"), qt=75)
    one = (tmp_path / "one.jpg").read_bytes()
    _copies(tmp_path / "small", 2000, one)
    _copies(tmp_path / "large", 20000, one)
    r = _child("memory", tmp_path / "small", tmp_path / "large", tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    (small_files, small_rss, small_traced), (large_files, large_rss, large_traced) = \
        [tuple(map(int, line.split())) for line in r.stdout.splitlines()]
    assert (small_files, large_files) == (2000, 20000)
    assert large_rss <= 1.2 * small_rss, (small_rss, large_rss)
    # Python's own allocations (rows, queues, the walk) are bounded too, not just the process
    assert large_traced <= 1.5 * small_traced + 64, (small_traced, large_traced)


def test_csv_output_is_formula_safe_one_line_per_file_and_resumes(corpus, tmp_path, monkeypatch):
    import csv
    monkeypatch.chdir(tmp_path)
    names = ["=HYPERLINK(1).jpg", "new\nline.jpg", "plain.jpg"]
    for name, source in zip(names, [corpus / "sub" / sorted(os.listdir(corpus / "sub"))[0], corpus / "wide.jpg",
                                    corpus / "qf30.jpg"]):
        shutil.copy(source, tmp_path / name)
    detector = KerasDetector(str(corpus / "model.keras"))
    scan(names, detector, "rows.csv", "m", batch_size=4, workers=0, fmt="csv")
    text = (tmp_path / "rows.csv").read_text()
    lines = text.splitlines()
    assert lines[0] == "#kerastego_scan,1,model,m" and lines[1].startswith("file,probability,verdict")
    rows = list(csv.DictReader(lines[1:]))
    assert [r["file"] for r in rows] == ["'=HYPERLINK(1).jpg", "new\\nline.jpg", "plain.jpg"]   # one line each
    scan(names, detector, "rows.jsonl", "m", batch_size=4, workers=0)
    for row, want in zip(rows, _rows(tmp_path / "rows.jsonl")[1]):
        assert float(row["probability"]) == pytest.approx(want["probability"], abs=1e-6)
        assert (row["verdict"], row["tiles"], row["quality_warning"]) == \
            (want["verdict"], str(want["tiles"]), want["quality_warning"])
    assert rows[2]["quality_warning"]                                # the QF30 file
    (tmp_path / "rows.csv").write_text(text[:-10])                  # killed while writing the last row
    counting = Counting(detector)
    again = scan(names, counting, "rows.csv", "m", batch_size=4, workers=0, fmt="csv")
    assert again["files"] == 1 and sum(counting.calls) == 1
    assert (tmp_path / "rows.csv").read_text() == text
    again = scan(names, counting, "rows.csv", "m", batch_size=4, workers=0, fmt="csv")
    assert again["files"] == 0                                       # the formula-safe name is known again
    with pytest.raises(ValueError, match="not a kerastego scan output in jsonl"):
        ScanOutput("rows.csv", "m", "jsonl")


def test_paths_from_a_list_are_literal_and_the_output_is_not_scanned(corpus, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(corpus / "wide.jpg", folder / "[1].jpg")
    shutil.copy(corpus / "qf30.jpg", folder / "1.jpg")
    listed = tmp_path / "paths.txt"
    listed.write_text(f"{folder}/[1].jpg\n\n{folder}/missing.jpg\n{folder / 'sub'}\n")
    (folder / "sub").mkdir()
    shutil.copy(corpus / "wide.jpg", folder / "sub" / "a.jpg")
    out = folder / "rows.jsonl"                                      # inside a scanned folder
    detector = KerasDetector(str(corpus / "model.keras"))
    scan([str(folder / "1.jpg")], detector, str(out), "m", workers=0, list_file=str(listed))
    rows = {r["file"]: r for r in _rows(out)[1]}
    assert set(rows) == {f"{folder}/1.jpg", f"{folder}/[1].jpg", f"{folder}/missing.jpg", f"{folder}/sub/a.jpg"}
    assert rows[f"{folder}/[1].jpg"]["tiles"] == 2                   # the file named [1].jpg, not 1.jpg
    assert rows[f"{folder}/missing.jpg"]["note"] == "skipped: no such file"
    scan([str(folder)], detector, str(out), "m", workers=0)
    assert str(out) not in {r["file"] for r in _rows(out)[1]}


def test_progress_gives_the_rate_and_once_counted_an_eta(tmp_path):
    import io
    from kerastego.jobs.scan import Progress, _count_in_background, ScanOutput
    stream = io.StringIO()
    progress = Progress(every=0.0, stream=stream)
    progress.tick()
    assert "ETA" not in stream.getvalue() and "1 files" in stream.getvalue()
    for i in range(5):
        (tmp_path / f"{i}.jpg").write_bytes(b"x")
    out = ScanOutput(str(tmp_path / "rows.jsonl"), "m")
    out.close()
    _count_in_background([str(tmp_path)], None, out, progress).join()
    assert progress.total == 6                                      # five files and the output's own entry
    progress.tick()
    assert stream.getvalue().splitlines()[-1].startswith("scan: 2 files,") and ", of 6, ETA 00:00:" in stream.getvalue()


def test_in_line_reading_comes_in_bursts_bounded_by_tiles_and_files(monkeypatch):
    """workers=0 reads files one after another until they hold a burst's tiles (an error
    row holds none) or BURST_FILES files, and only then hands them on to be scored."""
    from kerastego.jobs import scan as scan_module
    tiles = {"a": 1, "b": 2, "bad": None, "c": 1, "d": 3, "e": 1}
    events = []

    def read(path, size, tables, backend):
        events.append(f"read {path}")
        parts = None if tiles[path] is None else np.zeros((tiles[path], 8, 8), np.int16)
        return [path], {}, parts, None
    monkeypatch.setattr(scan_module, "read_for_scan", read)
    for key, *_ in scan_module._read_in_bursts(((p, 8, [], "jpeglib") for p in tiles), 4):
        events.append(f"score {key[0]}")
    assert events == ["read a", "read b", "read bad", "read c", "score a", "score b", "score bad", "score c",
                      "read d", "read e", "score d", "score e"]
    monkeypatch.setattr(scan_module, "BURST_FILES", 2)
    events.clear()
    for key, *_ in scan_module._read_in_bursts(((p, 8, [], "jpeglib") for p in ("a", "c", "e")), 64):
        events.append(f"score {key[0]}")
    assert events == ["read a", "read c", "score a", "score c", "read e", "score e"]
