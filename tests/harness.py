"""Shared checks every layer and every model must pass, in the spirit of keras-hub's
TestCase: a new registered layer or model is covered by adding one case, and a layer
class without a case fails tests/layers/test_every_layer.py.

Layer check: its config round-trips; a model holding it saves to .keras and loads
(with `import kerastego` only, safe_mode) to the same outputs; under a mixed bfloat16
policy it computes as its dtype policy says; XLA-compiled it gives the eager outputs.
Model check, for each input kind: one probability pair per image; its .keras round trip
gives exactly the same outputs and conv parameters; one training step gives a finite loss.
Counting: a detector wrapper the scan tests use to see the batches a scan makes;
run_binary: a binary in a fresh process."""
import dataclasses
import os
import subprocess
import sys

import keras
import numpy as np

import kerastego.layers as kl
from kerastego.models.saving import load_model


@dataclasses.dataclass(frozen=True)
class LayerCase:
    """How to make a layer and feed it: `make()` -> layer, `inputs(rng)` -> array or list."""
    make: object
    inputs: object
    pinned_float32: bool = False      # a frozen first-stage layer: float32 whatever the policy


def _image(rng, shape=(2, 16, 16, 1), scale=60.0):
    return (rng.normal(0, scale, shape) + 128).astype("float32")


def _coefficients(rng):
    return [rng.integers(-20, 21, (2, 16, 16)).astype("int16"), np.full((2, 8, 8), 4.0, "float32")]


LAYER_CASES = {
    kl.Abs: LayerCase(lambda: kl.Abs(), lambda r: _image(r) - 128),
    kl.CaffeAvgPool2D: LayerCase(lambda: kl.CaffeAvgPool2D(3, 2), _image),
    kl.LevelShift: LayerCase(lambda: kl.LevelShift(-128.0, dtype="float32"), _image, pinned_float32=True),
    kl.Truncate: LayerCase(lambda: kl.Truncate(8.0), lambda r: _image(r) - 128),
    kl.DCTConv: LayerCase(lambda: kl.DCTConv(4, dtype="float32"), _image, pinned_float32=True),
    kl.JpegDecompress: LayerCase(lambda: kl.JpegDecompress(dtype="float32"), _coefficients, pinned_float32=True),
    kl.QuantizeTruncate: LayerCase(lambda: kl.QuantizeTruncate(1.0, 8.0, dtype="float32"),
                                   lambda r: _image(r, scale=5.0) - 128, pinned_float32=True),
    kl.ModelRecord: LayerCase(lambda: kl.ModelRecord("hybrid", [[4.0] * 64]), _image),
}


def registered_layer_classes():
    """Every layer class kerastego.layers exports."""
    return sorted((getattr(kl, n) for n in kl.__all__
                   if isinstance(getattr(kl, n), type) and issubclass(getattr(kl, n), keras.layers.Layer)),
                  key=lambda c: c.__name__)


def _wrapped(layer, x):
    """A functional model around `layer` for the sample inputs `x`."""
    samples = x if isinstance(x, list) else [x]
    inputs = [keras.Input(s.shape[1:], dtype=str(s.dtype)) for s in samples]
    if not isinstance(x, list):
        return keras.Model(inputs[0], layer(inputs[0]))
    return keras.Model(inputs, layer(inputs))


def check_layer(case, tmp_path, seed=0):
    x = case.inputs(np.random.default_rng(seed))
    layer = case.make()
    model = _wrapped(layer, x)
    eager = np.asarray(model(x, training=False))
    again = layer.__class__.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()
    path = tmp_path / f"{layer.__class__.__name__}.keras"
    model.save(path)
    np.testing.assert_allclose(np.asarray(load_model(str(path))(x, training=False)), eager, rtol=1e-6, atol=1e-5)
    _check_policy(case, x)
    _check_xla(model, x, eager)


def _check_policy(case, x):
    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        layer = case.make()
        out = _wrapped(layer, x)(x, training=False)
    finally:
        keras.mixed_precision.set_global_policy(before)
    assert layer.compute_dtype == ("float32" if case.pinned_float32 else "bfloat16")
    assert keras.backend.standardize_dtype(out.dtype) == layer.compute_dtype


def _check_xla(model, x, eager):
    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf
    compiled = tf.function(lambda v: model(v, training=False), jit_compile=True)
    np.testing.assert_allclose(np.asarray(compiled(x)), eager, rtol=1e-5, atol=1e-4)


def model_inputs(input_kind, size=64, batch=2, seed=0):
    """Random JPEG-like coefficients (and a QF-like table), or their decompressed image."""
    from kerastego.layers import decompress_numpy
    rng = np.random.default_rng(seed)
    c = rng.integers(-30, 31, (batch, size, size)).astype("int16")
    q = np.full((batch, 8, 8), 4.0, "float32")
    if input_kind == "spatial":
        return np.stack([decompress_numpy(ci, qi) for ci, qi in zip(c, q)])[..., None].astype("float32")
    return {"coefficients": c, "quant_table": q}


def check_model(name, input_kind, tmp_path, size=64, batch=2, seed=0):
    from kerastego.models import build_model, count_conv_params
    keras.utils.set_random_seed(seed)
    model = build_model(name, (size, size, 1), input_kind=input_kind)
    x = model_inputs(input_kind, size, batch, seed)
    probs = np.asarray(model(x, training=False))
    assert probs.shape == (batch, 2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    model.save(tmp_path / f"{name}.keras")
    loaded = load_model(str(tmp_path / f"{name}.keras"))
    np.testing.assert_array_equal(np.asarray(loaded(x, training=False)), probs)
    assert count_conv_params(loaded) == count_conv_params(model)
    model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="sparse_categorical_crossentropy")
    assert np.isfinite(model.train_on_batch(x, np.arange(batch) % 2))


class Counting:
    """A detector that records the batch sizes it is called with."""

    def __init__(self, detector):
        self.detector, self.size, self.training_tables, self.calls = detector, detector.size, \
            detector.training_tables, []

    def __call__(self, c, q):
        self.calls.append(len(c))
        return self.detector(c, q)


BIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bin")


def run_binary(args):
    """A binary (or any script) run in a fresh process on the CPU: its CompletedProcess."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run([sys.executable] + args, capture_output=True, text=True, env=env, timeout=300)


def run_command(name, args, capsys):
    """`kerastego.cli.<name>.main` run in this process on `args`, as bin/<name> would run
    it: a CompletedProcess-like (returncode, stdout, stderr) of what it printed."""
    import importlib
    main = importlib.import_module(f"kerastego.cli.{name}").main
    capsys.readouterr()
    code = main([name, *map(str, args)])
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess([name, *args], code, out, err)


def with_header_side(src, dst, side):
    """A copy of the JPEG `src` at `dst` whose frame header claims side x side pixels."""
    data = bytearray(open(src, "rb").read())
    i = data.index(b"\xff\xc0")                                      # baseline frame header
    data[i + 5:i + 9] = side.to_bytes(2, "big") * 2
    dst.write_bytes(bytes(data))
    return str(dst)
