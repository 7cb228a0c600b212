"""kerastego on every Keras backend: each backend runs tests/backend_checks.py in a
process of its own, on models and inputs the TensorFlow side saved here.

Under JAX: every registered model builds (the spatial input here, the coefficient input from
the saved files) with no TensorFlow imported;
every .keras file saved under TensorFlow, the authors' imported CALPA-SRNet included,
gives TensorFlow's probabilities, and so does a local corpus scan; the Q&T gradient to the DCT stage is exactly zero;
model.fit on real cover/stego pairs lowers the training loss."""
import json
import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest

from kerastego.models import build_model, import_tf1_checkpoint, model_names

CHECKS = os.path.join(os.path.dirname(__file__), "backend_checks.py")
AUTHORS = "authors-calpa-srnet"


def _inputs(paths):
    from kerastego.jpeg_io import read_coefficients
    read = [read_coefficients(p)[:2] for p in paths]
    return {"coefficients": np.stack([c for c, _ in read]), "quant_table": np.stack([q for _, q in read])}


def _save(work, name, model, x):
    model.save(work / "models" / f"{name}.keras")
    np.savez(work / "inputs" / f"{name}.npz", **x)
    return np.asarray(model(x, training=False))


def _authors_model(work, juniward_pairs):
    """The authors' checkpoint imported under TensorFlow, with 4 bundled-photo pairs; None
    when ../shared/authors is absent (the authors' test then skips, saying so)."""
    from conftest import AUTHORS_CALPA
    prefix = os.path.join(AUTHORS_CALPA, "Model_438375.ckpt")
    if not os.path.exists(prefix + ".index"):
        return None
    x = _inputs([p for pair in juniward_pairs[:4] for p in pair])
    return _save(work, AUTHORS, import_tf1_checkpoint(prefix, input_kind="coefficients"), x)


def _pairs(work, small_dataset, n=64):
    """n real 64x64 nsF5 pairs, copied where the child reads them."""
    root = small_dataset["root"]
    names = sorted(n for n in os.listdir(root / "covers") if n.endswith(".jpg"))[:n]
    for side, folder in (("covers", "covers"), ("stego", "nsf5")):
        (work / "pairs" / side).mkdir(parents=True)
        for name in names:
            shutil.copy(root / folder / name, work / "pairs" / side / name)


@pytest.fixture(scope="module")
def saved(tmp_path_factory, real_jpegs, small_dataset, request):
    work = tmp_path_factory.mktemp("backends")
    (work / "models").mkdir()
    (work / "inputs").mkdir()
    x = _inputs(real_jpegs)
    expected = {}
    for i, name in enumerate(model_names()):
        keras.utils.set_random_seed(i)
        expected[name] = _save(work, name, build_model(name, (64, 64, 1), input_kind="coefficients"), x)
    from conftest import AUTHORS_CALPA
    if os.path.exists(os.path.join(AUTHORS_CALPA, "Model_438375.ckpt.index")):
        expected[AUTHORS] = _authors_model(work, request.getfixturevalue("juniward_pairs"))
    np.savez(work / "expected.npz", **expected)
    _pairs(work, small_dataset)
    _scan_models(work)
    return work


def _scan_models(work):
    """Two hybrids for the scan under each backend, and the rows TensorFlow's scan gives."""
    from kerastego.jobs.detect import KerasDetector
    from kerastego.jobs.scan import scan
    (work / "scan").mkdir()
    expected = {}
    for kind in ("coefficients", "spatial"):
        keras.utils.set_random_seed(7)
        name = f"{kind}.keras"
        build_model("hybrid-type1", (64, 64, 1), input_kind=kind).save(work / "scan" / name)
        scan([str(work / "pairs" / "covers")], KerasDetector(str(work / "scan" / name)), str(work / f"tf-{name}.jsonl"),
             name, batch_size=16, workers=0)
        rows = (work / f"tf-{name}.jsonl").read_text().splitlines()[1:]
        expected[name] = {r["file"]: r["probability"] for r in map(json.loads, rows)}
    (work / "scan_expected.json").write_text(json.dumps(expected))


def run_checks(work, backend_env):
    """backend_checks.py's JSON result in a child with `backend_env` (KERAS_BACKEND set)."""
    root = os.path.dirname(os.path.dirname(CHECKS))
    env = {**backend_env, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([sys.executable, CHECKS, str(work)], capture_output=True, text=True, env=env, timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def jax_result(saved, jax_env):
    pytest.importorskip("jax", reason="the jax backend is in the test extra (pip install -e '.[test]')")
    return run_checks(saved, jax_env)


def test_every_registered_model_builds_under_jax_without_tensorflow(jax_result):
    assert jax_result["backend"] == "jax"
    assert jax_result["built"] == {name: [2] for name in model_names()}                # spatial input
    assert set(jax_result["load"]) >= set(model_names())                               # coefficient input
    assert jax_result["tensorflow_imported"] is False


def test_models_saved_under_tensorflow_give_the_same_probabilities_under_jax(jax_result):
    load = {k: v for k, v in jax_result["load"].items() if k != AUTHORS}
    assert set(load) == set(model_names())
    assert max(load.values()) <= 1e-5, load


def test_authors_calpa_srnet_gives_the_same_outputs_under_jax(jax_result, authors_calpa):
    assert jax_result["load"][AUTHORS] <= 1e-5


def test_qt_gradient_to_the_dct_stage_is_exactly_zero_under_jax(jax_result):
    grads = jax_result["qt_gradients"]
    assert grads["hybrid-type1"] == 0.0
    assert grads["hybrid-type1-noqt"] > 0.0    # the same model without Q&T passes gradient: the check can fail


def test_a_scan_under_jax_gives_tensorflows_rows_without_tensorflow(jax_result, saved):
    expected = json.loads((saved / "scan_expected.json").read_text())
    got = jax_result["scan"]
    assert set(got) == {"coefficients.keras", "spatial.keras"}
    for name, rows in expected.items():
        assert set(got[name]) == set(rows) and len(rows) == 64
        assert max(abs(got[name][f] - p) for f, p in rows.items()) <= 1e-5, name
    assert jax_result["tensorflow_imported"] is False


def test_model_fit_on_real_pairs_lowers_the_training_loss_under_jax(jax_result):
    native = jax_result["native"]
    assert native["pairs"] == 64
    assert native["after"] < native["before"] and native["epoch_losses"][-1] < native["epoch_losses"][0]
