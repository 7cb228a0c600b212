"""Detect on the inputs a hostile try-out hands it: disguised, broken and foreign files, paths
that are no model, thresholds out of range, data after the end marker, a header that lies."""
import json
import os
import shutil

import pytest

from harness import run_command, with_header_side


def test_detect_folder_with_disguised_broken_and_foreign_files(tmp_path, capsys, real_jpegs, tiny_model):
    folder = tmp_path / "case"
    folder.mkdir()
    shutil.copy(real_jpegs[0], folder / "evidence.dat")             # a JPEG without a .jpg name
    (folder / "notes.txt").write_text("not an image")
    data = open(real_jpegs[1], "rb").read()
    (folder / "broken.jpg").write_bytes(data[:len(data) // 2])      # cut in half
    empty = tmp_path / "empty"
    empty.mkdir()
    stdout = os.fstat(1)
    r = run_command("detect", [f"--model={tiny_model}", "--format=json", str(folder), str(empty)], capsys)
    assert (os.fstat(1).st_dev, os.fstat(1).st_ino) == (stdout.st_dev, stdout.st_ino)   # the caller's stdout back
    assert r.returncode == 1                                         # a file failed: not 0
    rows = {os.path.basename(row["file"]): row for row in json.loads(r.stdout)}   # stdout is JSON alone
    assert rows["evidence.dat"]["verdict"] in ("cover", "stego")
    assert rows["notes.txt"]["note"] == "skipped: not a JPEG (no start-of-image marker)"
    assert "broken.jpg: truncated or corrupt JPEG" in rows["broken.jpg"]["error"]
    assert rows["empty"]["error"].endswith("empty: folder holds no JPEG files")


@pytest.mark.parametrize("model, message", [
    ("missing.keras", "missing.keras: no such file or folder"),
    ("JPEG", ": a JPEG image, not a model"),
    ("FOLDER", ": a folder, but neither a SavedModel nor a .keras file"),
    ("SERVING", ": a TF Serving model folder; give one version, e.g. "),
])
def test_detect_refuses_a_model_path_that_is_no_model(tmp_path, capsys, real_jpegs, model, message):
    if model == "JPEG":
        model = str(real_jpegs[0])
    elif model == "FOLDER":
        model = str(tmp_path)
    elif model == "SERVING":
        (tmp_path / "kerastego" / "3").mkdir(parents=True)
        model = str(tmp_path / "kerastego")
    else:
        model = str(tmp_path / model)
    r = run_command("detect", [f"--model={model}", str(real_jpegs[0])], capsys)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


def test_detect_refuses_a_threshold_outside_0_1(capsys, real_jpegs, tiny_model):
    r = run_command("detect", [f"--model={tiny_model}", "--threshold=2", str(real_jpegs[0])], capsys)
    assert r.returncode == 2 and "--threshold=2.0: must be strictly between 0 and 1" in r.stderr
    assert "Traceback" not in r.stderr


def test_data_after_the_end_marker_is_not_truncation(tmp_path, real_jpegs, tiny_model):
    from kerastego.jobs.detect import KerasDetector, detect
    from kerastego.jpeg_io import extra_bytes
    data = open(real_jpegs[0], "rb").read()
    appended = tmp_path / "appended.jpg"
    suffix = b"PK\x03\x04 hidden archive" * 10
    appended.write_bytes(data + suffix)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[:-200])
    assert extra_bytes(str(real_jpegs[0])) == 0 and extra_bytes(str(appended)) == len(suffix)
    assert extra_bytes(str(cut)) is None
    rows = {os.path.basename(r["file"]): r for r in detect([str(appended), str(cut)], KerasDetector(tiny_model))}
    assert rows["appended.jpg"]["verdict"] in ("cover", "stego")
    assert f"extra data after end of image ({len(suffix)} bytes)" in rows["appended.jpg"]["note"]
    assert "truncated or corrupt JPEG" in rows["cut.jpg"]["error"]


def test_detect_gives_no_verdict_on_a_header_that_lies(tmp_path, capsys, real_jpegs, tiny_model):
    liar = with_header_side(real_jpegs[0], tmp_path / "liar.jpg", 1024)
    r = run_command("detect", ["--model", tiny_model, "--format", "json", liar, str(real_jpegs[1])], capsys)
    assert r.returncode == 1
    rows = {os.path.basename(row["file"]): row for row in json.loads(r.stdout)}
    assert rows["liar.jpg"]["verdict"] is None and rows["liar.jpg"]["probability"] is None
    assert "its image data ends before the 1024x1024 pixels" in rows["liar.jpg"]["error"]
    assert rows[os.path.basename(str(real_jpegs[1]))]["verdict"] in ("cover", "stego")
