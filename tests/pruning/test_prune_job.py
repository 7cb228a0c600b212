import json
import os

import keras
import numpy as np

from kerastego.models import build_model
from kerastego.models import count_conv_params


def test_prune_job_writes_buildable_architecture_and_report(small_dataset, tmp_path):
    from kerastego.jobs.prune import PruneConfig, run_prune
    keras.utils.set_random_seed(0)
    model = build_model("hybrid-type2", input_shape=(64, 64, 1), input_kind="coefficients")
    model.save(tmp_path / "trained.keras")
    out = tmp_path / "calpa"
    report = run_prune(PruneConfig(model=str(tmp_path / "trained.keras"), data=str(small_dataset["records"] / "val-*"),
                                   out_dir=str(out), epsilon=0.5, sigma=0.05, max_images=64, samples=200))
    for f in ("slim_model.json", "aggr_model.json", "avg_model.json", "finetune_init.keras", "report.json",
              "widths.png"):
        assert os.path.exists(out / f), f
    slim = build_model(str(out / "slim_model.json"), input_shape=(64, 64, 1), input_kind="spatial")
    assert count_conv_params(slim) == report["slim"]["conv_params"]
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk["original"]["conv_params"] == count_conv_params(model)
    assert set(on_disk["rates"]) and all(0 <= g < 1 for g in on_disk["rates"].values())
    x = {"coefficients": np.zeros((2, 64, 64), np.int16), "quant_table": np.ones((2, 8, 8), np.float32)}
    assert slim.predict(x, verbose=0).shape == (2, 2)
