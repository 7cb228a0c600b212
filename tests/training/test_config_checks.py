"""Training options are checked before any work; a bad flag is one line and exit 2; a resume
with another image size is refused."""

import pytest

from harness import run_command


@pytest.mark.parametrize("override, message", [
    ({"steps": -5}, "steps=-5: must be positive"),
    ({"batch_pairs": 0}, "batch_pairs=0: must be positive"),
    ({"image_size": 60}, "image_size=60: must be a multiple of 8"),
    ({"train_data": "/nowhere/train-*"}, "train_data: no TFRecord files match '/nowhere/train-*'"),
    ({"val_data": "/nowhere/val-*"}, "val_data: no TFRecord files match '/nowhere/val-*'"),
    ({"precise_bn_batches": -1}, "precise_bn_batches=-1"),
])
def test_train_options_are_checked_before_any_work(small_dataset, tmp_path, override, message):
    from kerastego.training import TrainConfig
    from kerastego.training.trainer import check_config
    cfg = TrainConfig.of(**{"train_data": str(small_dataset["records"] / "train-*"), "out_dir": str(tmp_path / "t"),
                         "image_size": 64, **override})
    with pytest.raises(ValueError, match=message.replace("*", r"\*")):
        check_config(cfg)
    assert not (tmp_path / "t").exists()                            # nothing written


def test_bin_train_bad_flag_is_one_line_and_exit_2(small_dataset, tmp_path, capsys):
    r = run_command("train", [f"--train_data={small_dataset['records'] / 'train-*'}", f"--out_dir={tmp_path / 't'}",
                              "--steps=-1", "--image_size=64"], capsys)
    assert r.returncode == 2 and "train: --steps=-1: must be positive" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "t").exists()


def test_resume_with_another_image_size_is_refused(small_dataset, tmp_path, strategy):
    from kerastego.training import TrainConfig, train
    base = dict(train_data=str(small_dataset["records"] / "train-*"), out_dir=str(tmp_path / "r"), image_size=64,
                model="hybrid-type2", batch_pairs=4, steps=1, verbose=0)
    train(TrainConfig.of(**base), strategy=strategy)
    with pytest.raises(ValueError, match=r"holds checkpoints of image_size=64, not 32"):
        train(TrainConfig.of(**{**base, "image_size": 32, "steps": 2}), strategy=strategy)
