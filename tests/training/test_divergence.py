"""Training stops at the first non-finite loss: a non-zero exit naming the step, the last
finite checkpoint and best model kept, no NaN model saved; a second training into the
same out_dir is refused naming the holder."""
import glob
import os
import subprocess
import sys

import numpy as np
import pytest

from kerastego.fileio import FolderInUse, FolderLock
from kerastego.training import TrainConfig, train

BIN = os.path.join(os.path.dirname(__file__), "..", "..", "bin")


def test_a_diverging_run_stops_naming_the_step_and_keeps_the_finite_checkpoint(small_dataset, tmp_path):
    rec = small_dataset["records"]
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, os.path.join(BIN, "train"), "--model=hybrid-type2",
                        f"--train_data={rec}/train-*", f"--val_data={rec}/val-*", f"--out_dir={out}",
                        "--image_size=64", "--batch_pairs=4", "--steps=40", "--checkpoint_every=1",
                        "--val_every=1", "--optimizer=sgd", "--learning_rate=1e12"],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 3, r.stderr[-3000:]
    message = [line for line in r.stderr.splitlines() if line.startswith("train:")][-1]
    assert "the training loss is nan" in message.lower() or "the training loss is inf" in message.lower()
    step = int(message.split(" at step ")[1].split(":")[0])
    assert f"ckpt-{step - 1}" in message if step > 1 else "none" in message
    assert not (out / "final.keras").exists()
    if step > 1:
        import keras
        from kerastego.models.saving import load_model
        best = load_model(str(out / "best.keras"))
        assert all(np.all(np.isfinite(w)) for w in best.get_weights())
        assert glob.glob(str(out / "checkpoints" / f"ckpt-{step - 1}.index"))
        assert not glob.glob(str(out / "checkpoints" / f"ckpt-{step}.index"))
        keras.backend.clear_session()


def test_a_second_training_into_one_out_dir_is_refused(small_dataset, tmp_path):
    rec = small_dataset["records"]
    cfg = TrainConfig.of(train_data=f"{rec}/train-*", out_dir=str(tmp_path / "run"), model="hybrid-type2",
                      image_size=64, batch_pairs=2, steps=1, verbose=0)
    with FolderLock(cfg.runtime.out_dir, "train"):
        with pytest.raises(FolderInUse, match=rf"in use by train \(pid {os.getpid()}\)"):
            train(cfg)
    assert not os.path.exists(os.path.join(cfg.runtime.out_dir, "checkpoints"))
