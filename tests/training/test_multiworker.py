import json
import os
import socket
import subprocess
import sys

import pytest


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("precision", ["off", "bfloat16"])
def test_two_workers_train_with_tf_config(small_dataset, tmp_path, precision):
    """bin/train picks MultiWorkerMirroredStrategy when TF_CONFIG names two workers (localhost),
    in float32 and in bfloat16."""
    ports = [_free_port(), _free_port()]
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    rec = small_dataset["records"]
    procs = []
    for i in range(2):
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2",
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})}
        cmd = [sys.executable, os.path.join(os.path.dirname(__file__), "..", "..", "bin", "train"),
               "--model=hybrid-type2", f"--train_data={rec}/train-*", f"--out_dir={tmp_path / 'run'}",
               "--image_size=64", "--batch_pairs=4", "--steps=3", "--checkpoint_every=3", "--log_every=1",
               f"--mixed_precision={precision}"]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs[0][-3000:] + outs[1][-3000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["replicas"] == 2 and summary["steps"] == 3
    assert summary["config"]["mixed_precision"] == precision
