"""Several training steps per host call (steps_per_loop) and XLA (jit_compile) train
the same model as one step per call: same weights, same logs, checkpoints at the
same steps, and a resume continues at the same step and data position."""
import json
import os

import keras
import numpy as np
import pytest

from kerastego.training import TrainConfig, train


def _cfg(ds, out, **kw):
    rec = ds["records"]
    args = dict(train_data=str(rec / "train-*"), val_data=str(rec / "val-*"), out_dir=str(out),
                model="hybrid-type2", image_size=64, batch_pairs=4, steps=7, val_every=3, checkpoint_every=2,
                log_every=2, deterministic=True, seed=5, verbose=0, keep_checkpoints=10)
    return TrainConfig.of(**{**args, **kw})


def _weights(path):
    return keras.models.load_model(path).get_weights()


@pytest.fixture(scope="module")
def single_steps(small_dataset, tmp_path_factory, strategy):
    """The run of one step per call that the others are compared with (summary, out_dir)."""
    out = tmp_path_factory.mktemp("one")
    return train(_cfg(small_dataset, out), strategy=strategy), out


def test_steps_per_loop_trains_exactly_like_single_steps(small_dataset, tmp_path, strategy, single_steps):
    one, one_dir = single_steps
    four = train(_cfg(small_dataset, tmp_path / "four", steps_per_loop=4), strategy=strategy)
    assert one["steps"] == four["steps"] == 7
    for a, b in zip(_weights(one["final_model"]), _weights(four["final_model"])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    history = [[json.loads(line) for line in open(d / "history.jsonl")] for d in (one_dir, tmp_path / "four")]
    assert [h["step"] for h in history[0]] == [h["step"] for h in history[1]]
    for a, b in zip(*history):
        for key in ("train_loss", "val_accuracy"):
            if key in a:
                np.testing.assert_allclose(a[key], b[key], rtol=1e-4)
    kept = sorted(f for f in os.listdir(tmp_path / "four" / "checkpoints") if f.endswith(".index"))
    assert kept == ["ckpt-2.index", "ckpt-4.index", "ckpt-6.index", "ckpt-7.index"]


def test_steps_per_loop_resumes_at_the_same_step_and_data_position(small_dataset, tmp_path, strategy,
                                                                   single_steps):
    ref = single_steps[0]       # steps_per_loop gives single steps' weights (the test above)
    train(_cfg(small_dataset, tmp_path / "cut", steps=4, steps_per_loop=3), strategy=strategy)
    resumed = train(_cfg(small_dataset, tmp_path / "cut", steps_per_loop=3), strategy=strategy)
    assert resumed["resumed_from_step"] == 4 and resumed["steps"] == 7
    for a, b in zip(_weights(ref["final_model"]), _weights(resumed["final_model"])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_jit_compile_compiles_the_custom_layers_and_trains(small_dataset, tmp_path):
    """hybrid-type1 holds JpegDecompress, DCTConv, QuantizeTruncate and CaffeAvgPool2D.
    One device (what a CPU trains on): XLA refuses MirroredStrategy's variables on two
    *logical* devices of one CPU (tf.Variable on a different device)."""
    s = train(_cfg(small_dataset, tmp_path / "xla", model="hybrid-type1", steps=2, val_every=2,
                   jit_compile=True, steps_per_loop=2))
    assert s["steps"] == 2 and s["best_val_accuracy"] is not None
    assert all(np.all(np.isfinite(w)) for w in _weights(s["final_model"]))


def test_the_next_batch_goes_to_the_devices_while_the_step_runs(small_dataset, tmp_path, strategy):
    """Prefetch to device inside the step loop: in the loop body the next batch's
    IteratorGetNext and its copies to the replicas' devices wait on nothing (no control
    input), so the executor runs them beside the current step; a call of n steps reads
    exactly n batches (one before the loop, n-1 inside)."""
    import tensorflow as tf
    from kerastego.training.trainer import resolve_preset
    from kerastego.training.task import StegoTask
    cfg = _cfg(small_dataset, tmp_path)
    task = StegoTask(cfg.model, cfg.data, cfg.selection, resolve_preset(cfg), strategy)
    with strategy.scope():
        task.build()
    fn = task.train_steps_fn().get_concrete_function(iter(task.dataset(0, True)), tf.constant(3, tf.int64))
    outer = [n for n in fn.graph.as_graph_def().node if n.op == "IteratorGetNext"]
    bodies = [f for f in fn.graph.as_graph_def().library.function if f.signature.name.startswith("while_body")]
    inner = [n for f in bodies for n in f.node_def if n.op == "IteratorGetNext"]
    assert len(outer) == 1 and len(inner) == 1
    assert not [i for i in inner[0].input if i.startswith("^")]
    copies = [n for f in bodies for n in f.node_def if n.op == "Identity" and "CPU:1" in n.device]
    assert copies and not any(i.startswith("^") for n in copies for i in n.input)
