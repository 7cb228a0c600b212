"""Evaluate refuses a missing or cut shard, naming it."""
import os
import shutil

import pytest



def test_evaluate_refuses_a_missing_or_cut_shard(small_dataset, tmp_path, tiny_model):
    import glob as globmod
    from kerastego.data import DataError
    from kerastego.evaluation import evaluate
    rec = tmp_path / "rec"
    shutil.copytree(small_dataset["records"], rec)
    shards = sorted(globmod.glob(str(rec / "train-*")))
    assert len(shards) >= 2
    os.remove(shards[0])                                         # gone without a trace
    with pytest.raises(DataError, match=r"train-\*: read \d+ of the \d+ pairs dataset.json lists for 'train'"):
        evaluate([tiny_model], str(rec / "train-*"))
    report = evaluate([tiny_model], str(rec / "train-*"), names=["tiny"], allow_partial=True)
    assert report["models"]["tiny"]["n"] > 0
    data = open(shards[1], "rb").read()
    open(shards[1], "wb").write(data[:len(data) // 2])           # cut mid-record
    with pytest.raises(DataError, match=os.path.basename(shards[1]) + ": truncated or corrupt TFRecord"):
        evaluate([tiny_model], str(rec / "train-*"), allow_partial=True)
