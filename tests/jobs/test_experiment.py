"""One experiment's data: one photo split for every record set, and a re-run that
resumes instead of being refused by the folders' recorded settings."""
import json
import os

from kerastego.jobs.experiment import Experiment


def test_record_sets_share_one_split_and_rerun_resumes(tmp_path, real_jpegs, capsys):
    photos = [(os.path.basename(str(p)).split("_")[0], str(p)) for p in real_jpegs]
    exp = Experiment(str(tmp_path), photos, 64, crop="left-top", seed=2, workers=1,
                     fractions={"train": 0.5, "test": 0.5})
    first = exp.records("nsf5", 0.4)
    other = exp.records("uerd", 0.4, split_names=["test"])
    split = exp.split()
    assert sorted(os.listdir(other)) == sorted(f for f in os.listdir(other) if not f.startswith("train"))
    assert json.load(open(os.path.join(other, "split.json")))["sources"] == {"test": split["test"]}
    pairs = exp.pairs("nsf5", 0.4, "test")
    assert pairs and {c for c, _, _ in pairs} <= {c for c, _, _ in exp.pairs("uerd", 0.4, "test")}
    capsys.readouterr()
    assert exp.records("nsf5", 0.4) == first and exp.records("uerd", 0.4, split_names=["test"]) == other
    assert "to go" in capsys.readouterr().out and exp.split() == split
