import glob
import json
import os

import numpy as np
import pytest
from scipy.optimize import brentq

from data_tools import parallel
from data_tools.covers import cover_index, crop_boxes, make_covers, sources_from_folder
from data_tools.embed import count_nzac, embed, simulate
from data_tools.manifest import read_jsonl
from data_tools.tfrecords import make_tfrecords, split_sources
from kerastego.jpeg_io import read_coefficients


def binary_entropy_inverse(h):
    f = lambda p: -p * np.log2(p) - (1 - p) * np.log2(1 - p) - h  # noqa: E731
    return brentq(f, 1e-9, 0.5)


def test_covers_are_grey_qf75_jpegs_recorded_by_source(small_dataset):
    covers = cover_index(str(small_dataset["root"] / "covers"))
    assert len(covers) > 200
    c, qt, colour = read_coefficients(next(iter(covers.values()))["path"])
    assert c.shape == (64, 64) and not colour
    assert qt[0, 0] == 8  # libjpeg's QF75 luminance table starts 8, 6, 6, 7
    assert {v["source"] for v in covers.values()} == {"camera", "astronaut", "coffee", "moon", "brick", "rocket"}


def test_crop_modes_keep_the_grid():
    assert crop_boxes(100, 120, 64, "left-top") == [(0, 0)]
    assert crop_boxes(100, 120, 64, "center") == [(18, 28)]
    assert crop_boxes(128, 190, 64, "tiles") == [(0, 0), (0, 64), (64, 0), (64, 64)]


def test_nsf5_changes_match_payload(small_dataset):
    recs = read_jsonl(str(small_dataset["root"] / "nsf5" / "stego.jsonl"))
    nz = sum(r["nzac"] for r in recs)
    changes = sum(r["changes"] for r in recs)
    expected = binary_entropy_inverse(0.4) * nz   # nsF5 at the binary entropy bound
    assert changes == pytest.approx(expected, rel=0.1)
    assert len({r["seed"] for r in recs}) == len(recs)


@pytest.mark.parametrize("algorithm", ["j-uniward", "uerd", "ebs"])
def test_adaptive_algorithms_change_a_plausible_number(small_dataset, algorithm):
    covers = sorted(cover_index(str(small_dataset["root"] / "covers")).values(), key=lambda v: v["path"])
    c, qt, _ = read_coefficients(covers[5]["path"])
    s = simulate(algorithm, c, qt, 0.4, seed=7)
    bits = 0.4 * count_nzac(c)
    changes = np.count_nonzero(s != c)
    # ternary coding carries more than one bit per change, but not 10 at this payload
    assert bits / 10 < changes < bits
    assert np.abs(s.astype(int) - c).max() == 1
    np.testing.assert_array_equal(simulate(algorithm, c, qt, 0.4, seed=7), s)  # seed reproduces


def test_stego_file_holds_simulator_output(small_dataset):
    root = small_dataset["root"]
    rec = read_jsonl(str(root / "nsf5" / "stego.jsonl"))[3]
    cover = cover_index(str(root / "covers"))[rec["cover_id"]]["path"]
    c, qt, _ = read_coefficients(cover)
    s, qs, _ = read_coefficients(str(root / "nsf5" / rec["file"]))
    np.testing.assert_array_equal(s, simulate("nsf5", c, qt, 0.4, rec["seed"]))
    np.testing.assert_array_equal(qs, qt)


def test_no_source_in_two_splits(small_dataset):
    split = json.loads((small_dataset["records"] / "split.json").read_text())["sources"]
    seen = [s for v in split.values() for s in v]
    assert len(seen) == len(set(seen)) == 6
    assert all(split[k] for k in ("train", "val", "test"))
    # reproducible from the seed alone
    counts = {s: 1 for s in seen}
    halves = {"train": 0.5, "test": 0.5}
    assert split_sources(counts, halves, 5) == split_sources(counts, halves, 5)


def _interrupt_after(monkeypatch, n):
    real = parallel.run

    def run(*a, **k):
        for i, r in enumerate(real(*a, **k)):
            if i == n:
                raise KeyboardInterrupt("killed")
            yield r
    monkeypatch.setattr(parallel, "run", run)
    return real


def test_embed_resumes_after_kill(small_dataset, tmp_path, monkeypatch, capsys):
    covers = str(small_dataset["root"] / "covers")
    out = tmp_path / "uerd"
    real = _interrupt_after(monkeypatch, 10)
    with pytest.raises(KeyboardInterrupt):
        embed(covers, str(out), "uerd", 0.4, workers=1)
    first = read_jsonl(str(out / "stego.jsonl"))
    assert len(first) == 10
    mtimes = {r["file"]: os.path.getmtime(out / r["file"]) for r in first}
    monkeypatch.setattr(parallel, "run", real)
    capsys.readouterr()
    todo_before = len(cover_index(covers)) - 10
    _interrupt_after(monkeypatch, 5)
    with pytest.raises(KeyboardInterrupt):
        embed(covers, str(out), "uerd", 0.4, workers=1)
    assert f"10 stego image(s) already done, {todo_before} to go" in capsys.readouterr().out
    after = read_jsonl(str(out / "stego.jsonl"))
    assert len(after) == 15 and len({r["cover_id"] for r in after}) == 15
    assert all(os.path.getmtime(out / f) == t for f, t in mtimes.items())  # finished work untouched
    assert not [f for f in os.listdir(out) if ".tmp" in f]


def test_tfrecords_resume_rewrites_only_missing_shards(small_dataset, tmp_path, capsys):
    root = small_dataset["root"]
    out = tmp_path / "rec"
    make_tfrecords(str(root / "covers"), [str(root / "nsf5")], str(out), seed=3, pairs_per_shard=60, workers=1)
    shards = sorted(p for p in os.listdir(out) if p.endswith(".tfrecord"))
    mtimes = {s: os.path.getmtime(out / s) for s in shards}
    os.remove(out / shards[1])
    stale = out / ("." + shards[1] + ".tmp999")      # what a kill leaves behind
    stale.write_bytes(b"half a shard")
    # the documented pattern never picks a half-written shard up
    assert sorted(glob.glob(str(out / "train-*")) + glob.glob(str(out / "test-*"))) == sorted(
        str(out / f) for f in shards if f != shards[1])
    capsys.readouterr()
    make_tfrecords(str(root / "covers"), [str(root / "nsf5")], str(out), seed=3, pairs_per_shard=60, workers=1)
    printed = capsys.readouterr().out
    assert f"{len(shards) - 1} shard(s) already written, 1 to go" in printed
    assert f"removed {stale}, left by a killed run" in printed and not stale.exists()
    for s in shards:
        if s != shards[1]:
            assert os.path.getmtime(out / s) == mtimes[s]
    assert os.path.exists(out / shards[1])


def test_bad_inputs_are_named_and_skipped(tmp_path, capsys, real_jpegs):
    import jpeglib
    src = tmp_path / "src"
    src.mkdir()
    (src / "notes.txt").write_text("not an image")
    data = real_jpegs[0].read_bytes()
    (src / "cut.jpg").write_bytes(data[:200])
    small = np.zeros((40, 40), np.uint8)
    jpeglib.from_spatial(small[..., None]).write_spatial(str(src / "tiny.jpg"), qt=90)
    rng = np.random.default_rng(0)
    good = rng.integers(0, 255, (80, 80, 3), dtype=np.uint8)
    jpeglib.from_spatial(good).write_spatial(str(src / "good_colour.jpg"), qt=90)
    recs = make_covers(sources_from_folder(str(src)), str(tmp_path / "covers"), size=64, workers=1)
    out = capsys.readouterr().out
    assert "notes.txt: not a readable image" in out
    assert "cut.jpg: not a readable image" in out
    assert "tiny.jpg: too small: 40x40 < 64x64" in out
    assert [r["source"] for r in recs] == ["good_colour"]  # colour sources are converted to grey
    skipped = read_jsonl(str(tmp_path / "covers" / "skipped.jsonl"))
    assert len(skipped) == 3

    # a colour JPEG given as a cover: embed names it and goes on
    covers = tmp_path / "covers"
    jpeglib.from_spatial(good[:64, :64]).write_spatial(str(covers / "colour.jpg"), qt=75)
    from data_tools.manifest import append_jsonl
    append_jsonl(str(covers / "covers.jsonl"), [{"source": "colour", "source_path": "x", "quality": 75,
                                                  "covers": [{"cover_id": "colour", "file": "colour.jpg",
                                                              "crop": [0, 0, 64, 64]}]}])
    embed(str(covers), str(tmp_path / "stego"), "nsf5", 0.4, workers=1)
    assert "colour.jpg: colour JPEG where a grayscale (luminance) JPEG is needed" in capsys.readouterr().out

    # one photo cannot fill a train/test split: refused, not an empty test split
    with pytest.raises(ValueError, match=r"1 source photo\(s\) cannot fill the splits .*: test would get none"):
        make_tfrecords(str(covers), [str(tmp_path / "stego")], str(tmp_path / "rec"), workers=1)
    # the colour cover has no stego: make_tfrecords names the missing pair
    make_tfrecords(str(covers), [str(tmp_path / "stego")], str(tmp_path / "rec1"), {"train": 1.0}, workers=1)
    assert "colour.jpg: cover without its stego" in capsys.readouterr().out


def _die_on_three(x):
    if x == 3:
        os._exit(1)   # a worker killed mid-job (OOM killer, kill -9)
    return x


def test_dead_worker_fails_loudly_instead_of_hanging():
    from concurrent.futures.process import BrokenProcessPool
    got = []
    with pytest.raises(BrokenProcessPool):
        for r in parallel.run_local(_die_on_three, list(range(8)), workers=2, ordered=True):
            got.append(r)
    assert got == list(range(len(got))) and len(got) <= 3
    assert list(parallel.run_local(_die_on_three, [0, 1, 2, 4], workers=2, ordered=True)) == [0, 1, 2, 4]


def _pid(_):
    return os.getpid()


def test_isolated_work_never_runs_in_this_process():
    """One worker, isolate=True: the work still goes to another process (rich-model
    features load torch, which crashes next to this process's TensorFlow)."""
    assert set(parallel.run_local(_pid, [1, 2], workers=1, isolate=True)) != {os.getpid()}
    assert set(parallel.run_local(_pid, [1, 2], workers=1)) == {os.getpid()}
