"""Dataset building beyond one machine: make_covers -> embed -> make_tfrecords as Apache
Beam pipelines (DirectRunner) write what the local process pool writes, file for file
and record for record, and write nothing outside the folders they are given. Needs the
`beam` extra (installed by `make test`)."""
import glob
import os

import pytest

beam = pytest.importorskip("apache_beam", reason="the beam extra is not installed (pip install -e '.[beam]')")


def _build(root, photos, runner):
    from data_tools.covers import make_covers
    from data_tools.embed import embed
    from data_tools.tfrecords import make_tfrecords
    make_covers(photos, str(root / "covers"), size=64, crop="tiles", stride=64, max_per_source=4, workers=2,
                runner=runner)
    embed(str(root / "covers"), str(root / "stego"), "uerd", 0.4, seed=1, workers=2, runner=runner)
    make_tfrecords(str(root / "covers"), [str(root / "stego")], str(root / "rec"), {"train": 0.5, "test": 0.5},
                   seed=2, pairs_per_shard=5, workers=2, runner=runner)


def _records(folder):
    import tensorflow as tf
    return {os.path.basename(f): [r.numpy() for r in tf.data.TFRecordDataset(f)]
            for f in sorted(glob.glob(os.path.join(folder, "*.tfrecord")))}


def _files_under(folder):
    return sorted(os.path.relpath(os.path.join(d, f), folder) for d, _, names in os.walk(folder) for f in names)


def test_beam_direct_runner_writes_what_the_process_pool_writes(tmp_path, monkeypatch):
    import tempfile
    from data_tools.bundled import bundled_photos
    photos = [p for p in bundled_photos() if p[0] in ("camera", "coins", "moon", "rocket")]
    _build(tmp_path / "local", photos, "local")
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    _build(tmp_path / "beam", photos, "DirectRunner")
    assert _files_under(tmp_path / "tmp") == []                    # nothing left in the temporary folder
    assert _files_under(tmp_path / "beam") == _files_under(tmp_path / "local")
    for folder in ("covers", "stego"):
        local = sorted(f for f in os.listdir(tmp_path / "local" / folder) if f.endswith(".jpg"))
        assert local and local == sorted(f for f in os.listdir(tmp_path / "beam" / folder) if f.endswith(".jpg"))
        for name in local:
            assert (tmp_path / "local" / folder / name).read_bytes() == (tmp_path / "beam" / folder / name).read_bytes()
    local, via_beam = _records(tmp_path / "local" / "rec"), _records(tmp_path / "beam" / "rec")
    assert sum(len(v) for v in local.values()) >= 8
    assert local == via_beam
