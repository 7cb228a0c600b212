"""Data that would make a score lie is named before it does: a shard matched twice, one
split from several datasets, splits sharing shards or source photos, repeated pairs, and
resuming or starting from what does not fit."""
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerastego.data.leakage import overlap_warnings, repeat_warnings, shard_warnings


@pytest.fixture(scope="module")
def copy(small_dataset, tmp_path_factory):
    """A second dataset folder: a copy of the records (same photos, other folder)."""
    dst = tmp_path_factory.mktemp("leakage") / "records"
    shutil.copytree(small_dataset["records"], dst)
    return dst


def test_records_carry_their_dataset_id(small_dataset):
    import json
    from kerastego.data import parse_pair
    rec = small_dataset["records"]
    info = json.loads((rec / "dataset.json").read_text())
    first = next(iter(tf.data.TFRecordDataset(str(sorted(rec.glob("val-*"))[0]))))
    assert len(info["dataset_id"]) == 16 and parse_pair(first)["dataset_id"].numpy().decode() == info["dataset_id"]


def test_a_shard_matched_twice_and_a_split_of_two_datasets_are_named(small_dataset, copy, tmp_path):
    import json
    rec = small_dataset["records"]
    (twice,) = shard_warnings("train_data", [f"{rec}/train-*", f"{rec}/train-00000-*"])
    assert "1 shard(s) matched more than once" in twice and "train-00000" in twice
    assert shard_warnings("train_data", [f"{rec}/train-*", f"{copy}/train-*"]) == []   # a copy: the same dataset
    other = tmp_path / "other"
    shutil.copytree(copy, other)
    info = json.loads((other / "dataset.json").read_text())
    (other / "dataset.json").write_text(json.dumps({**info, "dataset_id": "another-dataset"}))
    (mixed,) = shard_warnings("train_data", [f"{rec}/train-*", f"{other}/train-*"])
    assert "shards of 2 datasets" in mixed and "another-dataset" in mixed
    assert shard_warnings("train_data", f"{rec}/train-*") == []


def test_validation_on_training_data_or_its_photos_is_named(small_dataset, copy):
    rec = small_dataset["records"]
    (same,) = overlap_warnings("train_data", f"{rec}/train-*", "val_data", f"{rec}/train-*")
    assert "val_data shares 5 of its 5 shard(s) with train_data" in same
    (photos,) = overlap_warnings("train_data", f"{rec}/train-*", "val_data", f"{copy}/train-*")
    assert "share 3 source photo(s) (astronaut, brick, rocket)" in photos
    assert overlap_warnings("train_data", f"{rec}/train-*", "val_data", f"{copy}/val-*") == []


def test_repeated_pairs_are_counted_in_evaluate(small_dataset, copy, tmp_path):
    from kerastego.evaluation import evaluate, format_report
    from kerastego.models import build_model
    shard = sorted(copy.glob("test-00000-*"))[0]
    records = [r.numpy() for r in tf.data.TFRecordDataset(str(shard))]
    with tf.io.TFRecordWriter(str(shard)) as w:          # the same count, one pair over and over
        for _ in records:
            w.write(records[0])
    model = build_model("hybrid-type2", (64, 64, 1), input_kind="coefficients")
    report = evaluate([model], f"{copy}/test-00000-*", names=["m"], allow_partial=True)
    assert any(f"up to {len(records)} times" in w for w in report["data_warnings"])
    assert "WARNING test_data: 1 pair(s) occur more than once" in format_report(report)
    assert repeat_warnings("x", ["a", "b"]) == []


def test_training_names_leaks_resumes_on_other_data_and_refuses_another_family(small_dataset, tmp_path, capfd):
    from kerastego.models import build_model
    from kerastego.training import TrainConfig, train
    from kerastego.options import replace
    from kerastego.training.trainer import check_config
    rec = small_dataset["records"]
    cfg = TrainConfig.of(train_data=f"{rec}/train-*", val_data=f"{rec}/train-*", out_dir=str(tmp_path / "run"),
                      model="hybrid-type2", image_size=64, batch_pairs=2, steps=1, val_every=1, verbose=0)
    summary = train(cfg)
    assert any("val_data shares 5 of its 5 shard(s) with train_data" in w for w in summary["data_warnings"])
    from kerastego.evaluation import evaluate
    report = evaluate([summary["final_model"]], f"{rec}/train-*", names=["m"])   # scored on its training shards
    shares = "test_data shares 5 of its 5 shard(s) with m's training data"
    assert any(w.startswith(shares) for w in report["data_warnings"])
    train(replace(cfg, train_data=f"{rec}/train-0000*", steps=2))
    assert f"resuming checkpoints trained with train_data='{rec}/train-*'" in capfd.readouterr().err
    srnet = tmp_path / "srnet.keras"
    build_model("srnet", (64, 64, 1), input_kind="spatial").save(srnet)
    keras.backend.clear_session()
    other = TrainConfig.of(train_data=f"{rec}/train-*", out_dir=str(tmp_path / "b"), model="hybrid-type2",
                        image_size=64, init_from=str(srnet))
    with pytest.raises(ValueError, match="a srnet model, and hybrid-type2 is a hybrid model"):
        check_config(other)
    assert np.isfinite(summary["steps"])
