"""Importing the CALPA-NET authors' TF1 checkpoints: the mapping, its refusals, and
the released CALPA-SRNet scored on real stego it never saw."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from kerastego.models import CheckpointImportError, build_calpa_srnet, import_tf1_checkpoint
from kerastego.models.tf1_import import BN_VARIABLES, layer_map

BIN = os.path.join(os.path.dirname(__file__), "..", "..", "bin")


def _save_tf1(tensors, prefix):
    """A TF1-style name-based checkpoint holding exactly `tensors` ({name: array})."""
    names = sorted(tensors)
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[tf.constant(tensors[n]) for n in names])
    return prefix


def _tf1_tensors(model):
    """The TF1 variables the authors' code would have written for a Keras SRNet."""
    out = {"global_step": np.array(7, np.int32), "is_training": np.array(False),
           "ip/weights": model.get_layer("probabilities").get_weights()[0],
           "ip/biases": model.get_layer("probabilities").get_weights()[1]}
    for name, (conv, bn) in layer_map().items():
        kernel, bias = model.get_layer(name).get_weights()
        out[f"{conv}/weights"], out[f"{conv}/biases"] = kernel, bias
        out[f"{conv}/weights/Adamax"] = np.zeros_like(kernel)        # optimizer slots are ignored
        for (var, i), value in zip(BN_VARIABLES, model.get_layer(f"{name}_bn").get_weights()):
            out[f"{bn}/{var}"] = value
    return out


@pytest.fixture(scope="module")
def random_calpa():
    """A CALPA-SRNet with random weights and BatchNorm statistics (not the identity)."""
    model = build_calpa_srnet(input_shape=(64, 64, 1), input_kind="spatial")
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([rng.normal(0.5, 0.2, w.shape).astype(np.float32) if "variance" not in w.path
                               else rng.uniform(0.5, 2.0, w.shape).astype(np.float32) for w in layer.weights])
    return model


def test_import_round_trips_a_tf1_layout(tmp_path, random_calpa):
    prefix = _save_tf1(_tf1_tensors(random_calpa), str(tmp_path / "model.ckpt"))
    imported = import_tf1_checkpoint(prefix, input_kind="spatial", image_size=64)
    x = np.random.default_rng(1).normal(128, 40, (2, 64, 64, 1)).astype(np.float32)
    np.testing.assert_allclose(imported(x, training=False), random_calpa(x, training=False), atol=1e-6)
    assert all(l.epsilon == 1e-3 for l in imported.layers if "_bn" in l.name)


@pytest.mark.parametrize("change, message", [
    (lambda t: t.pop("Layer5/BatchNorm_1/moving_mean"), r"variable Layer5/BatchNorm_1/moving_mean is missing"),
    (lambda t: t.update({"Layer13/Conv/weights": np.zeros((3, 3, 1, 1), np.float32)}),
     r"variable Layer13/Conv/weights has no place in SRNet"),
    (lambda t: t.update({"ip/weights": np.zeros((7, 2), np.float32)}),
     r"variable ip/weights has shape \(7, 2\)"),
    (lambda t: t.update({"Layer4/Conv_1/weights": np.zeros((3, 3, 5, 16), np.float32)}),
     r"variable Layer4/Conv_1/weights has shape \(3, 3, 5, 16\)"),
])
def test_unmappable_checkpoints_are_refused_naming_the_variable(tmp_path, random_calpa, change, message):
    tensors = _tf1_tensors(random_calpa)
    change(tensors)
    prefix = _save_tf1(tensors, str(tmp_path / "bad.ckpt"))
    with pytest.raises(CheckpointImportError, match=message):
        import_tf1_checkpoint(prefix, image_size=64)


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(CheckpointImportError, match="nothing.ckpt: not a readable TF checkpoint"):
        import_tf1_checkpoint(str(tmp_path / "nothing.ckpt"))


def tf1_forward(t, x):
    """The authors' SRNet written out in raw TF ops over the checkpoint's tensors
    (NHWC here, NCHW there: the same arithmetic), independent of the Keras model."""
    def conv(x, scope, stride=1):
        return tf.nn.conv2d(x, t[f"{scope}/weights"], stride, "SAME") + t[f"{scope}/biases"]

    def bn(x, scope):
        return tf.nn.batch_normalization(x, t[f"{scope}/moving_mean"], t[f"{scope}/moving_variance"],
                                         t[f"{scope}/beta"], t[f"{scope}/gamma"], 1e-3)

    relu = tf.nn.relu
    x = relu(bn(conv(x, "Layer1/Conv"), "Layer1/BatchNorm"))
    x = relu(bn(conv(x, "Layer2/Conv"), "Layer2/BatchNorm"))
    after_l2 = x
    for n in range(3, 8):
        y = relu(bn(conv(x, f"Layer{n}/Conv"), f"Layer{n}/BatchNorm"))
        x = x + bn(conv(y, f"Layer{n}/Conv_1"), f"Layer{n}/BatchNorm_1")
    for n in range(8, 12):
        s = bn(conv(x, f"Layer{n}/Conv", 2), f"Layer{n}/BatchNorm")
        y = relu(bn(conv(x, f"Layer{n}/Conv_1"), f"Layer{n}/BatchNorm_1"))
        y = bn(conv(y, f"Layer{n}/Conv_2"), f"Layer{n}/BatchNorm_2")
        x = s + tf.nn.avg_pool2d(y, 3, 2, "SAME")
    y = relu(bn(conv(x, "Layer12/Conv"), "Layer12/BatchNorm"))
    y = bn(conv(y, "Layer12/Conv_1"), "Layer12/BatchNorm_1")
    logits = tf.matmul(tf.reduce_mean(y, [1, 2]), t["ip/weights"]) + t["ip/biases"]
    return after_l2, tf.nn.softmax(logits)


@pytest.fixture(scope="module")
def released(authors_calpa):
    return import_tf1_checkpoint(authors_calpa["checkpoint"], input_kind="coefficients")


def _read_batch(paths):
    from kerastego.jpeg_io import read_coefficients
    read = [read_coefficients(p)[:2] for p in paths]
    return np.stack([c for c, _ in read]), np.stack([q for _, q in read])


def test_released_model_equals_tf1_arithmetic(authors_calpa, released, juniward_pairs):
    import keras
    from kerastego.layers import decompress_tf
    reader = tf.train.load_checkpoint(authors_calpa["checkpoint"])
    t = {k: tf.constant(reader.get_tensor(k)) for k in reader.get_variable_to_shape_map()}
    c, q = _read_batch([p for pair in juniward_pairs[:2] for p in pair])
    want_l2, want = tf1_forward(t, decompress_tf(c, q))
    x = {"coefficients": c, "quant_table": q}
    np.testing.assert_allclose(released(x, training=False), want, atol=1e-4)
    l2 = keras.Model(released.inputs, released.get_layer("L2_conv_relu").output)
    np.testing.assert_allclose(l2(x), want_l2, atol=1e-4, rtol=1e-4)


def test_released_model_detects_juniward_on_photos_it_never_saw(released, juniward_pairs):
    from kerastego.evaluation.metrics import p_e
    assert len(juniward_pairs) >= 40
    probs, labels = [], []
    for i in range(0, len(juniward_pairs), 8):
        paths = [p for pair in juniward_pairs[i:i + 8] for p in pair]   # cover, stego, cover, ...
        c, q = _read_batch(paths)
        probs.append(np.asarray(released({"coefficients": c, "quant_table": q}, training=False))[:, 1])
        labels.append(np.tile([0, 1], len(paths) // 2))
    assert p_e(np.concatenate(probs), np.concatenate(labels)) <= 0.35


def _run(args, **kw):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run([sys.executable] + args, capture_output=True, text=True, env=env, timeout=300, **kw)


def test_released_model_imports_exports_serves_and_detects(authors_calpa, juniward_pairs, tmp_path, capfd):
    """import_checkpoint and export run in this process (their main(argv)); the check that
    `import kerastego` alone loads the model, and detect, run in fresh ones."""
    from kerastego.cli import export, import_checkpoint
    model_path = str(tmp_path / "calpa_srnet_authors.keras")
    assert not import_checkpoint.main(["import_checkpoint", f"--tf1_checkpoint={authors_calpa['checkpoint']}",
                                       f"--out={model_path}"])   # no --training_quality: the authors' QF75, said aloud
    assert "recorded training quality QF75 (the authors' release" in capfd.readouterr().out
    assert not export.main(["export", f"--models={model_path}", f"--base_dir={tmp_path / 'serving'}"])
    version = str(tmp_path / "serving" / "kerastego" / "1")
    files = [p for pair in juniward_pairs[:3] for p in pair]
    # a fresh process: `import kerastego` alone loads the model; the SavedModel's
    # signatures equal the Keras model
    check = f"""
import json, numpy as np, keras, tensorflow as tf, kerastego
from kerastego.jpeg_io import read_coefficients
from kerastego.layers import decompress_tf
m = keras.models.load_model({model_path!r})
sig = tf.saved_model.load({version!r}).signatures
read = [read_coefficients(p)[:2] for p in {files!r}]
c = np.stack([a for a, _ in read]); q = np.stack([b for _, b in read])
want = m({{"coefficients": c, "quant_table": q}}, training=False).numpy()[:, 1]
got = sig["serving_default"](coefficients=tf.constant(c), quant_table=tf.constant(q))["probability"].numpy()
spatial = sig["spatial"](image=decompress_tf(c, q))["probability"].numpy()
print(json.dumps({{"want": want.tolist(), "got": got.tolist(), "spatial": spatial.tolist()}}))
"""
    r = _run(["-c", check])
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(out["got"], out["want"], atol=1e-5)
    np.testing.assert_allclose(out["spatial"], out["want"], atol=1e-4)
    for model in (model_path, version):       # detect in a process of its own: it owns its stdout
        r = _run([os.path.join(BIN, "detect"), f"--model={model}", "--format=json"] + files)
        assert r.returncode == 0, r.stderr[-2000:]
        rows = json.loads(r.stdout)
        assert [row["file"] for row in rows] == files
        np.testing.assert_allclose([row["probability"] for row in rows], out["want"], atol=1e-4)
        assert all(row["quality_warning"] == "" for row in rows)          # QF75 files, QF75 model


def test_released_model_flags_a_quality_it_was_not_trained_at(authors_calpa, tmp_path):
    import jpeglib
    from skimage import data
    from kerastego.jobs.detect import KerasDetector, detect
    path = str(tmp_path / "released.keras")
    import_tf1_checkpoint(authors_calpa["checkpoint"], training_quality=75).save(path)
    qf95 = str(tmp_path / "qf95.jpg")
    jpeglib.from_spatial(np.ascontiguousarray(data.camera()[:256, :256])[..., None]).write_spatial(qf95, qt=95)
    (row,) = detect([qf95], KerasDetector(path))
    assert row["quality_warning"] == "quality differs from training (QF~95 vs 75): verdict unreliable"
