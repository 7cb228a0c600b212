"""benchmarks/gpu_check.py runs end to end on the JAX backend (here on the CPU, at tiny
sizes, in bfloat16: the precision whose float32 first stage is the one to keep working)
with no TensorFlow, and writes every field the GPU table reads. The model.fit row is
left out here (--fit_steps 0): tests/test_backends.py runs model.fit under JAX."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "benchmarks", "gpu_check.py")


def test_gpu_check_runs_on_jax_without_tensorflow(tmp_path, jax_env):
    pytest.importorskip("jax", reason="the jax backend is in the test extra (pip install -e '.[test]')")
    out = tmp_path / "gpu_check.json"
    r = subprocess.run([sys.executable, SCRIPT, "--models", "srnet,calpa-srnet", "--precisions", "bfloat16",
                        "--size", "16", "--batch", "2",
                        "--steps", "1", "--fit_steps", "0", "--matmul_size", "128", "--out", str(out)],
                       capture_output=True, text=True, env=jax_env, timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    payload = json.loads(out.read_text())
    results = payload["results"]
    assert payload["machine"]["keras_backend"] == "jax" and payload["machine"]["jax"]
    assert {(row["model"], row["mixed_precision"]) for row in results["rows"]} == {
        (m, "bfloat16") for m in ("srnet", "calpa-srnet")}
    for row in results["rows"]:
        assert row["train_images_per_s"] > 0 and row["infer_images_per_s"] > 0
        assert row["fit_images_per_s"] is None       # --fit_steps 0 (model.fit runs in tests/test_backends.py)
        assert 0 < row["train_share_of_bf16_peak"] and row["conv_macs_per_image"] > 0
    assert set(results["calpa_srnet_over_srnet"]) == {"bfloat16"}
    assert "goals" not in results        # judged on a GPU only
    assert results["matmul_peak_tflops"]["bfloat16"] > 0
