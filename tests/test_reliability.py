"""Issue 16's hostile try-out, replayed: each bad input, flag or re-run gets a clear
message naming the file or flag and the problem, the documented exit status, and
nothing written that lies. Small files are made in the test."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

BIN = os.path.join(os.path.dirname(__file__), "..", "bin")


def _run(args):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run([sys.executable] + args, capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from kerastego.models import build_model
    path = str(tmp_path_factory.mktemp("model") / "tiny.keras")
    build_model("hybrid-type2", input_shape=(64, 64, 1), input_kind="coefficients").save(path)
    return path


def test_detect_folder_with_disguised_broken_and_foreign_files(tmp_path, real_jpegs, tiny_model):
    folder = tmp_path / "case"
    folder.mkdir()
    shutil.copy(real_jpegs[0], folder / "evidence.dat")             # a JPEG without a .jpg name
    (folder / "notes.txt").write_text("not an image")
    data = open(real_jpegs[1], "rb").read()
    (folder / "broken.jpg").write_bytes(data[:len(data) // 2])      # cut in half
    empty = tmp_path / "empty"
    empty.mkdir()
    r = _run([os.path.join(BIN, "detect"), f"--model={tiny_model}", "--format=json", str(folder), str(empty)])
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
def test_detect_refuses_a_model_path_that_is_no_model(tmp_path, real_jpegs, model, message):
    if model == "JPEG":
        model = str(real_jpegs[0])
    elif model == "FOLDER":
        model = str(tmp_path)
    elif model == "SERVING":
        (tmp_path / "kerastego" / "3").mkdir(parents=True)
        model = str(tmp_path / "kerastego")
    else:
        model = str(tmp_path / model)
    r = _run([os.path.join(BIN, "detect"), f"--model={model}", str(real_jpegs[0])])
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


def test_detect_refuses_a_threshold_outside_0_1(real_jpegs, tiny_model):
    r = _run([os.path.join(BIN, "detect"), f"--model={tiny_model}", "--threshold=2", str(real_jpegs[0])])
    assert r.returncode == 2 and "--threshold=2.0: must be strictly between 0 and 1" in r.stderr
    assert "Traceback" not in r.stderr


def test_header_claiming_a_huge_image_is_refused_before_decoding(tmp_path, real_jpegs):
    from kerastego.jpeg_io import JpegError, header_size, read_coefficients
    data = bytearray(open(real_jpegs[0], "rb").read())
    i = data.index(b"\xff\xc0")                                      # baseline frame header
    data[i + 5:i + 9] = (65500).to_bytes(2, "big") * 2
    path = tmp_path / "liar.jpg"
    path.write_bytes(bytes(data))
    assert header_size(str(path)) == (65500, 65500)
    with pytest.raises(JpegError, match=r"liar.jpg: header claims 65500x65500 pixels, beyond .* 16384 per side"):
        read_coefficients(str(path))


def test_embed_rerun_with_other_settings_is_refused(small_dataset, tmp_path):
    from data_tools.embed import embed
    from data_tools.manifest import ParameterMismatch
    covers = str(small_dataset["root"] / "covers")
    out = str(tmp_path / "stego")
    embed(covers, out, "nsf5", 0.4, seed=1, workers=1, sources={"camera"})
    before = open(os.path.join(out, "stego.json")).read()
    with pytest.raises(ParameterMismatch, match=r"algorithm='nsf5' there, 'uerd' now.*payload=0.4 there, 1.0 now"):
        embed(covers, out, "uerd", 1.0, seed=1, workers=1, sources={"camera"})
    assert open(os.path.join(out, "stego.json")).read() == before   # the description still tells the truth


def test_make_covers_rerun_with_another_quality_is_refused(tmp_path, real_jpegs):
    from data_tools.covers import make_covers
    from data_tools.manifest import ParameterMismatch
    sources = [("a", str(real_jpegs[0]))]
    make_covers(sources, str(tmp_path / "covers"), size=64, quality=75, workers=1)
    with pytest.raises(ParameterMismatch, match=r"quality=75 there, 95 now"):
        make_covers(sources, str(tmp_path / "covers"), size=64, quality=95, workers=1)


def test_make_tfrecords_rerun_with_another_seed_or_stego_folder_is_refused(small_dataset, tmp_path):
    from data_tools.manifest import ParameterMismatch
    from data_tools.tfrecords import make_tfrecords
    root = small_dataset["root"]
    out = str(tmp_path / "records")
    make_tfrecords(str(root / "covers"), [str(root / "nsf5")], out, seed=3, workers=1)
    split = open(os.path.join(out, "split.json")).read()
    with pytest.raises(ParameterMismatch, match=r"seed=3 there, 4 now"):
        make_tfrecords(str(root / "covers"), [str(root / "nsf5")], out, seed=4, workers=1)
    with pytest.raises(ParameterMismatch, match=r"stego_dirs="):
        make_tfrecords(str(root / "covers"), [str(root / "nsf5"), str(root / "nsf5")], out, seed=3, workers=1)
    assert open(os.path.join(out, "split.json")).read() == split


@pytest.mark.parametrize("override, message", [
    ({"steps": -5}, "steps=-5: must be positive"),
    ({"batch_pairs": 0}, "batch_pairs=0: must be positive"),
    ({"image_size": 60}, "image_size=60: must be a multiple of 8"),
    ({"train_data": "/nowhere/train-*"}, "train_data: no TFRecord files match '/nowhere/train-*'"),
    ({"val_data": "/nowhere/val-*"}, "val_data: no TFRecord files match '/nowhere/val-*'"),
    ({"precise_bn_batches": -1}, "precise_bn_batches=-1"),
])
def test_train_options_are_checked_before_any_work(small_dataset, tmp_path, override, message):
    from kerastego.training import TrainConfig
    from kerastego.training.trainer import check_config
    cfg = TrainConfig(**{"train_data": str(small_dataset["records"] / "train-*"), "out_dir": str(tmp_path / "t"),
                         "image_size": 64, **override})
    with pytest.raises(ValueError, match=message.replace("*", r"\*")):
        check_config(cfg)
    assert not (tmp_path / "t").exists()                            # nothing written


def test_bin_train_bad_flag_is_one_line_and_exit_2(small_dataset, tmp_path):
    r = _run([os.path.join(BIN, "train"), f"--train_data={small_dataset['records'] / 'train-*'}",
              f"--out_dir={tmp_path / 't'}", "--steps=-1", "--image_size=64"])
    assert r.returncode == 2 and "train: --steps=-1: must be positive" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "t").exists()


def test_resume_with_another_image_size_is_refused(small_dataset, tmp_path, strategy):
    from kerastego.training import TrainConfig, train
    base = dict(train_data=str(small_dataset["records"] / "train-*"), out_dir=str(tmp_path / "r"), image_size=64,
                model="hybrid-type2", batch_pairs=4, steps=1, verbose=0)
    train(TrainConfig(**base), strategy=strategy)
    with pytest.raises(ValueError, match=r"holds checkpoints of image_size=64, not 32"):
        train(TrainConfig(**{**base, "image_size": 32, "steps": 2}), strategy=strategy)


def test_exported_signature_refuses_a_zero_quant_table(tmp_path, tiny_model):
    import tensorflow as tf
    from kerastego.export import export_savedmodel
    path = export_savedmodel(tiny_model, str(tmp_path / "serving"))
    fn = tf.saved_model.load(path).signatures["serving_default"]
    c = tf.zeros((2, 64, 64), tf.int16)
    with pytest.raises(tf.errors.InvalidArgumentError, match="quant_table must be finite and positive"):
        fn(coefficients=c, quant_table=tf.zeros((2, 8, 8)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="same batch size"):
        fn(coefficients=c, quant_table=tf.ones((3, 8, 8)))
    assert np.all(np.isfinite(fn(coefficients=c, quant_table=tf.ones((2, 8, 8)))["probability"].numpy()))


@pytest.fixture(scope="module")
def trained_qf75(small_dataset, tmp_path_factory):
    """A model the trainer saved after one step on QF75 pairs."""
    from kerastego.training import TrainConfig, train
    out = tmp_path_factory.mktemp("qf75")
    s = train(TrainConfig(train_data=str(small_dataset["records"] / "train-*"), out_dir=str(out), image_size=64,
                          model="hybrid-type2", batch_pairs=4, steps=1, verbose=0))
    return s["final_model"]


def _jpeg_at(tmp_path, quality, name):
    import jpeglib
    from skimage import data
    path = str(tmp_path / name)
    jpeglib.from_spatial(np.ascontiguousarray(data.camera()[:64, :64])[..., None]).write_spatial(path, qt=quality)
    return path


def test_a_model_knows_its_training_quality_and_detect_flags_others(tmp_path, trained_qf75):
    import keras
    from kerastego.jobs.detect import KerasDetector, detect, format_rows
    from kerastego.models.quality import estimate_quality, training_tables
    assert [estimate_quality(t) for t in training_tables(keras.models.load_model(trained_qf75))] == [75]
    qf30, qf75 = _jpeg_at(tmp_path, 30, "qf30.jpg"), _jpeg_at(tmp_path, 75, "qf75.jpg")
    rows = {os.path.basename(r["file"]): r for r in detect([qf30, qf75], KerasDetector(trained_qf75))}
    assert rows["qf30.jpg"]["quality_warning"] == "quality differs from training (QF~30 vs 75): verdict unreliable"
    assert rows["qf75.jpg"]["quality_warning"] == ""
    table = format_rows(list(rows.values()))
    assert "UNRELIABLE: quality differs from training (QF~30 vs 75)" in table
    assert json.loads(format_rows(list(rows.values()), "json"))[0]["quality_warning"]
    assert "quality_warning" in format_rows(list(rows.values()), "csv").splitlines()[0]


def test_the_export_carries_the_training_quality(tmp_path, trained_qf75):
    from kerastego.export import export_savedmodel
    from kerastego.jobs.detect import SavedModelDetector, detect
    from kerastego.models.quality import estimate_quality
    detector = SavedModelDetector(export_savedmodel(trained_qf75, str(tmp_path / "serving")))
    assert [estimate_quality(t) for t in detector.training_tables] == [75]
    (row,) = detect([_jpeg_at(tmp_path, 95, "qf95.jpg")], detector)
    assert "QF~95 vs 75" in row["quality_warning"]


def test_evaluate_reports_a_test_set_of_another_quality(small_dataset, trained_qf75, tmp_path):
    from kerastego.evaluation import evaluate, format_report
    from kerastego.models.quality import table_for_quality, with_training_tables
    import keras
    same = evaluate([trained_qf75], str(small_dataset["records"] / "test-*"), names=["m"])
    assert same["models"]["m"]["quality_warning"] is None
    other = with_training_tables(keras.models.load_model(trained_qf75), [table_for_quality(95)])
    report = evaluate([other], str(small_dataset["records"] / "test-*"), names=["m95"])
    assert report["models"]["m95"]["quality_warning"] == ("quality differs from training (QF~75 vs 95): "
                                                          "verdict unreliable")
    assert "WARNING m95: quality differs" in format_report(report)


def test_cover_ids_are_unique_per_source_path(tmp_path):
    import jpeglib
    from skimage import data
    from data_tools.covers import make_covers, sources_from_folder
    src = tmp_path / "src"
    (src / "case").mkdir(parents=True)
    img = np.ascontiguousarray(data.camera()[:64, :64])
    for rel in ("IMG_0001.jpg", "IMG_0001.png", "case/evid.jpg", "case_evid.jpg"):
        if rel.endswith(".png"):
            from PIL import Image
            Image.fromarray(img[::-1]).save(src / rel)
        else:
            jpeglib.from_spatial(img[..., None]).write_spatial(str(src / rel), qt=90)
    records = make_covers(sources_from_folder(str(src)), str(tmp_path / "covers"), size=64, workers=1)
    ids = [c["cover_id"] for r in records for c in r["covers"]]
    assert len(ids) == 4 == len(set(ids)) == len([f for f in os.listdir(tmp_path / "covers") if f.endswith(".jpg")])


def test_bundled_photos_sharing_a_scene_keep_every_cover(tmp_path):
    from data_tools.bundled import bundled_photos
    from data_tools.covers import make_covers
    moto = [s for s in bundled_photos() if s[0] == "motorcycle"]
    assert len(moto) == 2                       # left and right views: one scene, one source for the split
    records = make_covers(moto, str(tmp_path / "covers"), size=128, crop="tiles", stride=128, workers=1)
    ids = [c["cover_id"] for r in records for c in r["covers"]]
    files = [f for f in os.listdir(tmp_path / "covers") if f.endswith(".jpg")]
    assert len(ids) == len(set(ids)) == len(files) and {r["source"] for r in records} == {"motorcycle"}


def test_a_cover_of_another_size_or_quality_is_left_out_and_named(tmp_path, real_jpegs, capsys):
    import jpeglib
    from skimage import data
    from data_tools.covers import make_covers
    from data_tools.embed import embed
    from data_tools.manifest import append_jsonl
    from data_tools.tfrecords import make_tfrecords
    from kerastego.data import count_and_check
    covers = tmp_path / "covers"
    make_covers([(f"p{i}", str(p)) for i, p in enumerate(real_jpegs[:4])], str(covers), size=64, workers=1)
    odd = {"big": (128, 75), "q95": (64, 95)}
    for name, (size, quality) in odd.items():
        pixels = np.ascontiguousarray(data.camera()[:size, :size])[..., None]
        jpeglib.from_spatial(pixels).write_spatial(str(covers / f"{name}.jpg"), qt=quality)
        append_jsonl(str(covers / "covers.jsonl"), [{"source": name, "source_path": name, "quality": quality,
                     "covers": [{"cover_id": name, "file": f"{name}.jpg", "crop": [0, 0, size, size]}]}])
    embed(str(covers), str(tmp_path / "stego"), "nsf5", 0.4, workers=1)
    capsys.readouterr()
    make_tfrecords(str(covers), [str(tmp_path / "stego")], str(tmp_path / "rec"), {"train": 1.0}, workers=1)
    out = capsys.readouterr().out
    assert "big.jpg: cover is 128x128, the set is 64x64" in out
    assert "q95.jpg: cover's quant table (QF~95) differs from the set's (QF~75)" in out
    assert sum(count_and_check(str(tmp_path / "rec" / "train-*")).values()) == 4


def test_evaluate_refuses_a_missing_or_cut_shard(small_dataset, tmp_path, tiny_model):
    import glob as globmod
    from kerastego.data import DataError
    from kerastego.evaluation import evaluate
    rec = tmp_path / "rec"
    shutil.copytree(small_dataset["records"], rec)
    shards = sorted(globmod.glob(str(rec / "train-*")))
    assert len(shards) >= 2
    os.remove(shards[0])                                         # gone without a trace
    with pytest.raises(DataError, match=r"train-\*: read \d+ of the \d+ pairs dataset.json lists for 'train'"):
        evaluate([tiny_model], str(rec / "train-*"))
    report = evaluate([tiny_model], str(rec / "train-*"), names=["tiny"], allow_partial=True)
    assert report["models"]["tiny"]["n"] > 0
    data = open(shards[1], "rb").read()
    open(shards[1], "wb").write(data[:len(data) // 2])           # cut mid-record
    with pytest.raises(DataError, match=os.path.basename(shards[1]) + ": truncated or corrupt TFRecord"):
        evaluate([tiny_model], str(rec / "train-*"), allow_partial=True)


@pytest.mark.parametrize("binary, args, message", [
    ("make_covers", ["--bundled", "--quality=0"], "--quality=0: must be in 1..100"),
    ("make_covers", ["--bundled", "--size=100"], "--size=100: must be a positive multiple of 8"),
    ("embed", ["--covers_dir=x", "--payload=1.5", "--algorithm=nsf5"], "--payload=1.5: bpnzAC is in (0, 1]"),
    ("prune", ["--model=x.keras", "--data=x", "--epsilon=0"], "--epsilon=0.0: the rate step must be in (0, 1)"),
    ("evaluate", ["--models=x.keras", "--test_data=x", "--batch_pairs=0"], "--batch_pairs=0: must be positive"),
    ("export", ["--models=x.keras", "--version=0"], "--version=0: TF Serving versions are positive integers"),
])
def test_binaries_refuse_bad_flags_in_one_line(tmp_path, binary, args, message):
    where = f"--base_dir={tmp_path / 'b'}" if binary == "export" else f"--out_dir={tmp_path / 'o'}"
    r = _run([os.path.join(BIN, binary), where] + args)
    assert r.returncode == 2, r.stderr[-500:]
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists() and not (tmp_path / "b").exists()


def test_prune_search_refuses_a_zero_step():
    from kerastego.models import build_model
    from kerastego.pruning import search
    with pytest.raises(ValueError, match=r"epsilon \(the rate step\) must be in \(0, 1\), got 0"):
        search(build_model("calpa-srnet", input_shape=(64, 64, 1), input_kind="spatial"), np.zeros((2, 64, 64, 1)),
               [0, 1], epsilon=0)


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


def test_cmyk_is_not_taken_for_luminance(tmp_path):
    from PIL import Image
    from kerastego.jpeg_io import JpegError, read_coefficients
    path = str(tmp_path / "print.jpg")
    Image.fromarray((np.random.default_rng(0).random((64, 64, 4)) * 255).astype(np.uint8), mode="CMYK").save(path)
    with pytest.raises(JpegError, match=r"print.jpg: CMYK JPEG \(4 channels\): no luminance channel to analyse"):
        read_coefficients(path, allow_colour=True)


def _with_header_side(src, dst, side):
    data = bytearray(open(src, "rb").read())
    i = data.index(b"\xff\xc0")                                      # baseline frame header
    data[i + 5:i + 9] = side.to_bytes(2, "big") * 2
    dst.write_bytes(bytes(data))
    return str(dst)


@pytest.mark.parametrize("backend", ["jpeglib", "jpegio"])
def test_data_that_does_not_match_the_header_is_refused(tmp_path, backend):
    """A 256x256 image behind a 1024x1024 header (libjpeg would fill 15/16 of it with
    zero blocks and give a verdict), and a 512x512 image behind a 256x256 header."""
    import jpeglib
    from skimage import data
    from kerastego.jpeg_io import JpegError, read_coefficients
    if backend == "jpegio":
        pytest.importorskip("jpegio", reason="jpegio is an optional reader")
    for side in (256, 512):
        jpeglib.from_spatial(np.ascontiguousarray(data.camera()[:side, :side])[..., None]).write_spatial(
            str(tmp_path / f"{side}.jpg"), qt=75)
    assert read_coefficients(str(tmp_path / "256.jpg"), backend=backend)[0].shape == (256, 256)
    big = _with_header_side(tmp_path / "256.jpg", tmp_path / "big_header.jpg", 1024)
    with pytest.raises(JpegError, match=r"big_header.jpg: corrupt JPEG: its image data ends before the 1024x1024 "
                                        r"pixels its header claims \(libjpeg: .*premature end"):
        read_coefficients(big, backend=backend)
    small = _with_header_side(tmp_path / "512.jpg", tmp_path / "small_header.jpg", 256)
    with pytest.raises(JpegError, match=r"small_header.jpg: corrupt JPEG: its image data goes on beyond the "
                                        r"256x256 pixels"):
        read_coefficients(small, backend=backend)


def test_detect_gives_no_verdict_on_a_header_that_lies(tmp_path, real_jpegs, tiny_model):
    liar = _with_header_side(real_jpegs[0], tmp_path / "liar.jpg", 1024)
    r = _run([os.path.join(BIN, "detect"), "--model", tiny_model, "--format", "json", liar, str(real_jpegs[1])])
    assert r.returncode == 1
    rows = {os.path.basename(row["file"]): row for row in json.loads(r.stdout)}
    assert rows["liar.jpg"]["verdict"] is None and rows["liar.jpg"]["probability"] is None
    assert "its image data ends before the 1024x1024 pixels" in rows["liar.jpg"]["error"]
    assert rows[os.path.basename(str(real_jpegs[1]))]["verdict"] in ("cover", "stego")


def test_exported_signature_names_a_wrong_rank_or_size(tmp_path, tiny_model):
    """The signatures take any shape and check it in-graph, so a serving client reads which
    input is wrong and why (not a placeholder's shape error)."""
    import tensorflow as tf
    from kerastego.export import export_savedmodel
    loaded = tf.saved_model.load(export_savedmodel(tiny_model, str(tmp_path / "serving")))
    fn, q = loaded.signatures["serving_default"], tf.ones((1, 8, 8))
    assert int(loaded.input_size.numpy()) == 64
    cases = [(tf.zeros((64, 64), tf.int16), q, r"coefficients must be \[batch, 64, 64\] \(rank 3\)"),
             (tf.zeros((1, 60, 64), tf.int16), q, "height and width must be multiples of 8"),
             (tf.zeros((1, 128, 128), tf.int16), q, "this model takes 64x64 coefficients: tile larger images"),
             (tf.zeros((1, 64, 64), tf.int16), tf.ones((1, 4, 4)), r"quant_table must be \[batch, 8, 8\]")]
    for c, qt, message in cases:
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            fn(coefficients=c, quant_table=qt)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"image must be \[batch, 64, 64, 1\]"):
        loaded.signatures["spatial"](image=tf.zeros((1, 64, 64, 3)))
