import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import keras
import numpy as np
import pytest

from kerastego.export import export_savedmodel, parse_models_config, unservable_ops, write_models_config
from kerastego.jpeg_io import read_coefficients
from kerastego.layers import decompress_numpy
from kerastego.models import build_model
from kerastego.serving import RestDetector, grpc_request, rest_payload, validate_inputs


@pytest.fixture(scope="module")
def exported(tmp_path_factory, real_jpegs):
    base = tmp_path_factory.mktemp("serving")
    keras.utils.set_random_seed(1)
    from kerastego.models.quality import table_for_quality
    from kerastego.models.record import with_record
    a = with_record(build_model("hybrid-type2", input_shape=(64, 64, 1), input_kind="coefficients"), "hybrid",
                    [table_for_quality(75)])
    b = build_model("srnet", input_shape=(64, 64, 1), input_kind="spatial")
    single = export_savedmodel(a, str(base), "hybrid")
    ensemble = export_savedmodel([a, b], str(base), "ensemble")
    coefs, qts = zip(*[read_coefficients(p)[:2] for p in real_jpegs])
    c, q = np.stack(coefs), np.stack(qts)
    return {"base": base, "single": single, "ensemble": ensemble, "a": a, "b": b, "c": c, "q": q}


FRESH = r"""
import sys, numpy as np, tensorflow as tf
d = np.load(sys.argv[2])
m = tf.saved_model.load(sys.argv[1])
out = {}
r = m.signatures["serving_default"](coefficients=tf.constant(d["c"]), quant_table=tf.constant(d["q"]))
out.update({"default_" + k: v.numpy() for k, v in r.items()})
r = m.signatures["spatial"](image=tf.constant(d["x"]))
out.update({"spatial_" + k: v.numpy() for k, v in r.items()})
np.savez(sys.argv[3], **out)
"""


def _fresh_process_outputs(path, c, q, tmp_path):
    x = np.stack([decompress_numpy(ci, qi) for ci, qi in zip(c, q)])[..., None].astype("float32")
    np.savez(tmp_path / "in.npz", c=c, q=q, x=x)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    subprocess.run([sys.executable, "-c", FRESH, path, str(tmp_path / "in.npz"), str(tmp_path / "out.npz")],
                   check=True, env=env)
    return dict(np.load(tmp_path / "out.npz"))


def test_signatures_in_fresh_process_equal_keras(exported, tmp_path):
    c, q = exported["c"], exported["q"]
    out = _fresh_process_outputs(exported["single"], c, q, tmp_path)
    ref = exported["a"].predict({"coefficients": c, "quant_table": q}, verbose=0)[:, 1]
    np.testing.assert_allclose(out["default_probability"], ref, atol=1e-5)
    np.testing.assert_allclose(out["spatial_probability"], ref, atol=1e-5)
    np.testing.assert_array_equal(out["default_class"], (ref >= 0.5).astype(np.int64))


def test_ensemble_mean_and_vote(exported, tmp_path):
    c, q = exported["c"], exported["q"]
    out = _fresh_process_outputs(exported["ensemble"], c, q, tmp_path)
    pa = exported["a"].predict({"coefficients": c, "quant_table": q}, verbose=0)[:, 1]
    x = np.stack([decompress_numpy(ci, qi) for ci, qi in zip(c, q)])[..., None].astype("float32")
    pb = exported["b"].predict(x, verbose=0)[:, 1]
    np.testing.assert_allclose(out["default_probability"], (pa + pb) / 2, atol=1e-5)
    np.testing.assert_allclose(out["default_vote"], ((pa >= 0.5).astype(float) + (pb >= 0.5)) / 2, atol=1e-6)


def test_layout_versions_ops_and_config(exported):
    base = exported["base"]
    assert exported["single"] == os.path.join(str(base), "hybrid", "1")
    second = export_savedmodel(exported["a"], str(base), "hybrid")
    assert second.endswith(os.path.join("hybrid", "2")) and os.path.exists(exported["single"])
    with pytest.raises(FileExistsError, match="never overwritten"):
        export_savedmodel(exported["a"], str(base), "hybrid", version=1)
    assert unservable_ops(exported["single"]) == [] and unservable_ops(exported["ensemble"]) == []
    cfg = parse_models_config(write_models_config(str(base)))
    entries = {e.name: e for e in cfg.model_config_list.config}
    assert set(entries) == {"hybrid", "ensemble"}
    assert entries["hybrid"].base_path == os.path.join(str(base), "hybrid")
    assert entries["hybrid"].model_platform == "tensorflow"


def test_request_builders_and_validation(exported):
    c, q = exported["c"][:2], exported["q"][:2]
    body = rest_payload(c, q)
    assert body["signature_name"] == "serving_default"
    assert np.array_equal(np.array(body["inputs"]["coefficients"], dtype=np.int16), c)
    assert np.array(body["inputs"]["quant_table"]).shape == (2, 8, 8)
    json.dumps(body)
    req = grpc_request(c, q, "hybrid", version=1)
    import tensorflow as tf
    assert req.model_spec.name == "hybrid" and req.model_spec.signature_name == "serving_default"
    assert req.model_spec.version.value == 1
    np.testing.assert_array_equal(tf.make_ndarray(req.inputs["coefficients"]), c)
    assert req.inputs["coefficients"].dtype == tf.int16.as_datatype_enum
    with pytest.raises(ValueError, match="rank 3"):
        validate_inputs(c[0], q)
    with pytest.raises(ValueError, match="multiples of 8"):
        validate_inputs(c[:, :60, :60], q)
    with pytest.raises(TypeError, match="int16"):
        validate_inputs(c.astype(np.float32), q)
    with pytest.raises(ValueError, match="quant_table"):
        validate_inputs(c, q[:1])


def test_rest_detector_against_a_local_predict_endpoint(exported, real_jpegs, tmp_path):
    """A stand-in for TF Serving's REST :predict route, backed by the exported SavedModel's
    signatures (serving_default, and metadata for the tile size and the training quality)."""
    import tensorflow as tf
    from kerastego.jobs.detect import KerasDetector, detect
    from kerastego.models.quality import table_for_quality
    signatures = tf.saved_model.load(exported["single"]).signatures

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, code, payload):
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            assert self.path == "/v1/models/hybrid:predict"
            fn = signatures[body.get("signature_name", "serving_default")]
            specs = fn.structured_input_signature[1]
            try:
                out = fn(**{k: tf.constant(v, specs[k].dtype) for k, v in body["inputs"].items()})
            except tf.errors.InvalidArgumentError as e:   # TF Serving answers 400 {"error": ...}
                return self._reply(400, {"error": e.message})
            self._reply(200, {"outputs": {k: v.numpy().tolist() for k, v in out.items()}})

        def log_message(self, *a):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        remote = RestDetector(f"127.0.0.1:{server.server_port}", "hybrid")   # size and tables: metadata
        assert remote.size == 64
        np.testing.assert_array_equal(remote.training_tables, [table_for_quality(75)])
        rows = detect([str(p) for p in real_jpegs[:3]], remote)
    finally:
        server.shutdown()
    path = tmp_path / "a.keras"
    exported["a"].save(path)
    local = detect([str(p) for p in real_jpegs[:3]], KerasDetector(str(path)))
    np.testing.assert_allclose([r["probability"] for r in rows], [r["probability"] for r in local], atol=1e-5)


def test_bfloat16_export_takes_and_returns_float32(exported, tmp_path):
    """bin/export --mixed_precision bfloat16: same signatures (float32 in and out), close scores."""
    import tensorflow as tf
    c, q = exported["c"], exported["q"]
    path = export_savedmodel(exported["a"], str(tmp_path), "bf16", mixed_precision="bfloat16")
    out = tf.saved_model.load(path).signatures["serving_default"](coefficients=tf.constant(c),
                                                                  quant_table=tf.constant(q))
    ref = exported["a"].predict({"coefficients": c, "quant_table": q}, verbose=0)[:, 1]
    assert out["probability"].dtype == tf.float32
    np.testing.assert_allclose(out["probability"].numpy(), ref, atol=0.03)
    assert not np.array_equal(out["probability"].numpy(), ref)
