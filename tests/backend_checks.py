"""Run under one Keras backend (KERAS_BACKEND set by the caller) in a process of its own:
the checks tests/test_backends.py asserts, printed as one JSON line.

    python tests/backend_checks.py WORKDIR
WORKDIR holds what the TensorFlow side saved: models/<name>.keras, inputs/<name>.npz
(model inputs) and expected.npz (TensorFlow's probabilities per model); optionally
pairs/covers and pairs/stego (real JPEG pairs to train on).
"""
import json
import os
import sys

import numpy as np


def built_models():
    """{model name: the output shape its builder gives with the spatial input}; the
    coefficient input builds, and computes, in load_differences from the files TensorFlow saved."""
    from kerastego.models import build_model, model_names
    return {name: list(build_model(name, (64, 64, 1), input_kind="spatial").output.shape[1:]) for name in model_names()}


def load_differences(work):
    """{model file: largest |p - p_tensorflow|} over the saved models."""
    from kerastego.models.saving import load_model
    expected = np.load(os.path.join(work, "expected.npz"))
    differences = {}
    for name in expected.files:
        x = dict(np.load(os.path.join(work, "inputs", f"{name}.npz")))
        p = np.asarray(load_model(os.path.join(work, "models", f"{name}.keras"))(x, training=False))
        differences[name] = float(np.abs(p - expected[name]).max())
    return differences


def qt_gradients():
    """Largest |d p / d image| of the hybrid (every path through Q&T) and of its no-Q&T
    ablation, by the backend's own autodiff (JAX only)."""
    import keras
    if keras.backend.backend() != "jax":
        return None
    import jax
    import jax.numpy as jnp
    from kerastego.models import build_model
    x = jnp.asarray(np.random.default_rng(1).normal(128, 30, (2, 32, 32, 1)).astype(np.float32))
    out = {}
    for name in ("hybrid-type1", "hybrid-type1-noqt"):
        m = build_model(name, (32, 32, 1), input_kind="spatial")
        trainable = [v.value for v in m.trainable_variables]
        frozen = [v.value for v in m.non_trainable_variables]
        grad = jax.grad(lambda image: jnp.sum(m.stateless_call(trainable, frozen, image, training=True)[0][:, 1]))(x)
        out[name] = float(jnp.abs(grad).max())
    return out


def native_training(work):
    """Training loss of the hybrid on the real pairs before and after model.fit."""
    from kerastego.models import build_model
    from kerastego.training.native import PairBatches, fit_pairs, read_pairs
    folder = os.path.join(work, "pairs")
    if not os.path.isdir(folder):
        return None
    covers, stegos, names = read_pairs(os.path.join(folder, "covers"), os.path.join(folder, "stego"))
    model = build_model("hybrid-type1", (64, 64, 1), input_kind="coefficients")
    every = PairBatches(covers, stegos, 8, shuffle=False)
    model.compile(loss="sparse_categorical_crossentropy")
    before = model.evaluate(every, verbose=0, return_dict=True)["loss"]
    history = fit_pairs(model, PairBatches(covers, stegos, 8, seed=0), epochs=4, learning_rate=1e-3)
    after = model.evaluate(every, verbose=0, return_dict=True)["loss"]
    return {"pairs": len(names), "before": float(before), "after": float(after),
            "epoch_losses": [float(v) for v in history.history["loss"]]}


def scan_rows(work):
    """{model file: {file: probability}} of a local scan of the real pairs' covers with
    each .keras file in scan/ (a coefficient-input and a spatial-input model)."""
    from kerastego.jobs.detect import KerasDetector
    from kerastego.jobs.scan import scan
    folder = os.path.join(work, "scan")
    if not os.path.isdir(folder):
        return None
    out = {}
    for name in sorted(n for n in os.listdir(folder) if n.endswith(".keras")):
        output = os.path.join(work, f"{name}.jsonl")
        scan([os.path.join(work, "pairs", "covers")], KerasDetector(os.path.join(folder, name)), output, name,
             batch_size=16, workers=0)
        with open(output) as f:
            out[name] = {r["file"]: r["probability"] for r in map(json.loads, f.read().splitlines()[1:])}
    return out


def main(work):
    import keras
    import kerastego  # noqa: F401
    result = {"backend": keras.backend.backend(), "built": built_models(), "load": load_differences(work),
              "qt_gradients": qt_gradients(), "native": native_training(work), "scan": scan_rows(work)}
    result["tensorflow_imported"] = "tensorflow" in sys.modules
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
