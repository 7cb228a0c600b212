import json
import os

import numpy as np
import keras
import pytest

from kerastego.training import TrainConfig, train


def _cfg(ds, out, steps, **kw):
    rec = ds["records"]
    args = dict(train_data=str(rec / "train-*"), val_data=str(rec / "val-*"), out_dir=str(out),
                model="hybrid-type2", image_size=64, batch_pairs=4, steps=steps, val_every=3,
                checkpoint_every=2, log_every=1, deterministic=True, seed=11, verbose=0)
    return TrainConfig.of(**{**args, **kw})


@pytest.fixture(scope="module")
def straight(small_dataset, tmp_path_factory, strategy):
    """A 6-step run, never resumed: the reference of the resume test and the curriculum's start."""
    out = tmp_path_factory.mktemp("straight")
    return out, train(_cfg(small_dataset, out, 6), strategy=strategy)


def test_resume_reaches_same_step_weights_and_data_position(small_dataset, straight, tmp_path, strategy):
    a, summary = straight
    assert summary["steps"] == 6 and summary["resumed_from_step"] == 0

    first = train(_cfg(small_dataset, tmp_path / "b", 4), strategy=strategy)   # "killed" after step 4
    assert first["steps"] == 4
    resumed = train(_cfg(small_dataset, tmp_path / "b", 6), strategy=strategy)
    assert resumed["resumed_from_step"] == 4 and resumed["steps_this_run"] == 2 and resumed["steps"] == 6
    # training time adds up over the resumed runs; a finished run re-opened adds nothing
    assert first["seconds_total"] > 0
    assert resumed["seconds_total"] >= first["seconds_total"] + 0.5 * resumed["seconds_this_run"]
    again = train(_cfg(small_dataset, tmp_path / "b", 6), strategy=strategy)
    assert again["steps_this_run"] == 0 and again["seconds_total"] == resumed["seconds_total"]

    model_a = keras.models.load_model(a / "final.keras")
    model_b = keras.models.load_model(tmp_path / "b" / "final.keras")
    for wa, wb in zip(model_a.get_weights(), model_b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-4, atol=1e-5)
    ha = [json.loads(l) for l in open(a / "history.jsonl")]
    hb = [json.loads(l) for l in open(tmp_path / "b" / "history.jsonl")]
    la = [h["train_loss"] for h in ha if "train_loss" in h]
    lb = [h["train_loss"] for h in hb if "train_loss" in h]
    np.testing.assert_allclose(la, lb, rtol=1e-4)   # same batches in the same order after the resume
    for f in ("best.keras", "curves.png", "summary.json"):
        assert os.path.exists(tmp_path / "b" / f)
    assert os.listdir(tmp_path / "b" / "logs")


def test_curriculum_starts_from_given_model(small_dataset, straight, tmp_path, strategy):
    base = straight[0] / "final.keras"
    src = keras.models.load_model(base)
    cfg = _cfg(small_dataset, tmp_path / "c", 1, init_from=str(base), learning_rate=0.0)
    train(cfg, strategy=strategy)
    out = keras.models.load_model(tmp_path / "c" / "final.keras")
    conv = [l for l in out.layers if l.name == "sub0_conv2"][0]
    np.testing.assert_allclose(conv.get_weights()[0], src.get_layer("sub0_conv2").get_weights()[0], atol=1e-6)


def test_batch_must_split_into_whole_pairs(small_dataset, tmp_path, strategy):
    with pytest.raises(ValueError, match="multiple of the 2 replicas"):
        train(_cfg(small_dataset, tmp_path, 1, batch_pairs=3), strategy=strategy)


@pytest.mark.parametrize("select_by", ["accuracy", "p_e"])
def test_best_model_follows_the_selection_rule(small_dataset, tmp_path, strategy, select_by):
    out = tmp_path / select_by
    s = train(_cfg(small_dataset, out, 6, select_by=select_by, keep_checkpoints=5, val_every=2,
                   learning_rate=0.05), strategy=strategy)
    val = [h for h in map(json.loads, open(out / "history.jsonl")) if "val_accuracy" in h]
    assert [h["step"] for h in val] == [2, 4, 6]
    pick = (max(val, key=lambda h: h["val_accuracy"]) if select_by == "accuracy"
            else min(val, key=lambda h: h["val_p_e"]))   # first of equals, as the trainer keeps the first
    assert s["best_step"] == pick["step"] and s["select_by"] == select_by
    assert s["best_val_accuracy"] == pytest.approx(pick["val_accuracy"])
    assert s["best_val_p_e"] == pytest.approx(pick["val_p_e"])
    kept = sorted(f for f in os.listdir(out / "checkpoints") if f.endswith(".index"))
    assert kept == ["ckpt-2.index", "ckpt-4.index", "ckpt-6.index"]   # checkpoint_every=2, 5 may be kept


def test_unknown_selection_rule_is_refused(small_dataset, tmp_path, strategy):
    with pytest.raises(ValueError, match="select_by"):
        train(_cfg(small_dataset, tmp_path, 1, select_by="loss"), strategy=strategy)


def test_a_checkpoint_of_another_format_version_is_refused(tmp_path):
    """Checkpoints record the format version; 0.1.0 resumes only its own, refusing in one line."""
    import tensorflow as tf
    from kerastego.training.state import TrainState, restore
    state = TrainState("accuracy")
    objects = state.objects(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]), None, None)
    del objects["optimizer"], objects["iterator"]
    for version in (None, 0, 2):
        kept = dict(objects, format_version=tf.Variable(version or 0, dtype=tf.int64))
        if version is None:
            del kept["format_version"]
        path = tf.train.Checkpoint(**kept).save(str(tmp_path / f"v{version}" / "ckpt"))
        with pytest.raises(ValueError, match=f"a checkpoint of format {version} \\(this trainer resumes format 1\\)"):
            restore(path, objects, "accuracy")
    path = tf.train.Checkpoint(**objects).save(str(tmp_path / "v1" / "ckpt"))
    with pytest.raises(ValueError, match="lacks iterator, optimizer"):
        restore(path, {**objects, "optimizer": None, "iterator": None}, "accuracy")


def _bin_train_refuses_in_one_line(ds, out, capsys):
    """bin/train on `out` with the default select_by: exit 2, one line naming the rule."""
    from kerastego.cli.train import main
    rec = ds["records"]
    capsys.readouterr()
    code = main(["train", f"--train_data={rec / 'train-*'}", f"--val_data={rec / 'val-*'}", f"--out_dir={out}",
                 "--model=hybrid-type2", "--image_size=64", "--batch_pairs=4", "--steps=4", "--val_every=3",
                 "--checkpoint_every=2", "--log_every=1", "--deterministic", "--seed=11"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("train: ") and "select_by='p_e'" in err[0], err


def test_resume_under_another_selection_rule_is_refused(small_dataset, tmp_path, strategy, capsys):
    out = tmp_path / "rule"
    train(_cfg(small_dataset, out, 3, select_by="p_e"), strategy=strategy)   # validated at step 3: a best exists
    with pytest.raises(ValueError, match="select_by='p_e'"):
        train(_cfg(small_dataset, out, 4), strategy=strategy)
    _bin_train_refuses_in_one_line(small_dataset, out, capsys)
    resumed = train(_cfg(small_dataset, out, 4, select_by="p_e"), strategy=strategy)
    assert resumed["resumed_from_step"] == 3 and resumed["steps"] == 4


def test_checkpoint_of_another_program_is_refused(small_dataset, tmp_path, strategy):
    import tensorflow as tf
    out = tmp_path / "foreign"
    tf.train.CheckpointManager(tf.train.Checkpoint(step=tf.Variable(5, dtype=tf.int64)),
                               str(out / "checkpoints"), max_to_keep=1).save(checkpoint_number=5)
    with pytest.raises(ValueError, match=r"ckpt-5: a checkpoint of format None \(this trainer resumes format 1\)"):
        train(_cfg(small_dataset, out, 6), strategy=strategy)


def test_weight_average_and_precise_bn_are_validated_and_saved_without_touching_training(
        small_dataset, tmp_path, strategy):
    """With ema_momentum and precise_bn_batches, final.keras holds the optimizer's moving
    average of the weights with BatchNorm moving means re-estimated for it (the plain
    average of the batch means over the fixed batches); swapping them in for validation
    changes no trained weight (same weights with or without validations in between)."""
    import tensorflow as tf
    from kerastego.data import make_dataset
    from kerastego.models import build_model
    settings = dict(ema_momentum=0.9, precise_bn_batches=3, learning_rate=0.05)
    a = train(_cfg(small_dataset, tmp_path / "a", 4, val_every=1, **settings), strategy=strategy)
    train(_cfg(small_dataset, tmp_path / "b", 4, val_every=100, **settings), strategy=strategy)
    final = keras.models.load_model(tmp_path / "a" / "final.keras")
    b_final = keras.models.load_model(tmp_path / "b" / "final.keras")
    for wa, wb in zip(final.get_weights(), b_final.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-4, atol=1e-6)   # validations changed nothing
    assert a["config"]["ema_momentum"] == 0.9

    ckpt = str(tmp_path / "a" / "checkpoints" / "ckpt-4")
    names = [n for n, _ in tf.train.list_variables(ckpt)]
    raw = build_model("hybrid-type2", input_shape=(64, 64, 1), input_kind="coefficients")
    tf.train.Checkpoint(model=raw).restore(ckpt).expect_partial()
    slots = [n for n in names if n.startswith("optimizer/_variables/")]
    assert len(slots) == 2 * len(raw.trainable_variables)     # momentum and moving average per weight
    kernel = final.get_layer("sub0_conv2").get_weights()[0]
    assert not np.allclose(kernel, raw.get_layer("sub0_conv2").kernel.numpy())   # not the last iterate ...
    stored = [tf.train.load_variable(ckpt, n) for n in slots]
    assert any(v.shape == kernel.shape and np.allclose(kernel, v, atol=1e-7) for v in stored)  # ... but its average

    bn = final.get_layer("sub0_conv2_bn")
    features = keras.Model(final.inputs, bn.input)
    cfg = a["config"]
    batches = make_dataset(cfg["train_data"], 4, training=True, image_size=64, seed=cfg["seed"] + 1,
                           deterministic=True, shuffle_buffer=cfg["shuffle_buffer"]).take(3)
    means = [tf.reduce_mean(features(x, training=True), axis=[0, 1, 2]).numpy() for x, _ in batches]
    np.testing.assert_allclose(bn.moving_mean.numpy(), np.mean(means, axis=0), rtol=1e-3, atol=1e-5)
    running = [tf.train.load_variable(ckpt, n) for n, shape in tf.train.list_variables(ckpt)
               if n.startswith("model/") and list(shape) == list(bn.moving_mean.shape)]
    assert not any(np.allclose(bn.moving_mean.numpy(), v) for v in running)   # the checkpoint keeps the running stats
