"""Named experiments: every name holds its command's config; --experiment starts from it
and the flags given override exactly the fields they name; an unknown name is one line."""
import pytest

from kerastego.cli import experiment_config, flag_values
from kerastego.jobs.demo import DemoConfig
from kerastego.jobs.experiments import COMMANDS, experiment, experiment_names, register_experiment
from kerastego.jobs.prune import PruneConfig
from kerastego.training import TrainConfig


def test_every_named_experiment_holds_its_commands_config():
    names = experiment_names()
    assert {"demo", "zeng-hybrid-type1", "tan-calpa-srnet", "tan-calpa-search"} <= set(names)
    for name in names:
        found = experiment(name)
        assert COMMANDS[type(found.config)] == found.command and found.about
    assert experiment("tan-calpa-search").config == PruneConfig(epsilon=0.05, sigma=0.05)
    with pytest.raises(ValueError, match="already registered"):
        register_experiment("demo", DemoConfig(), "again")
    with pytest.raises(KeyError, match="unknown experiment 'demo' for train; registered: .*zeng-hybrid-type1"):
        experiment("demo", "train")


def _parsed(command, argv):
    from importlib import import_module
    values = flag_values(import_module(f"kerastego.cli.{command}").define)
    values([command, *argv])
    return values


def test_the_flags_given_override_the_named_experiment_and_no_other_field():
    values = _parsed("train", ["--experiment=tan-calpa-srnet", "--train_data=t-*", "--out_dir=o", "--image_size=64"])
    cfg = experiment_config(values, TrainConfig, "train")
    assert (cfg.model.name, cfg.model.image_size) == ("calpa-srnet", 64)
    assert (cfg.data.train, cfg.runtime.out_dir) == ("t-*", "o")
    assert cfg.runtime.seed == TrainConfig().runtime.seed and cfg.schedule.learning_rate is None
    plain = experiment_config(_parsed("train", ["--train_data=t-*", "--out_dir=o"]), TrainConfig, "train")
    assert plain.model.name == TrainConfig().model.name


def test_an_unknown_experiment_is_one_line_and_exit_2(capsys):
    from kerastego.cli import train
    assert train.main(["train", "--experiment=nope", "--train_data=x", "--out_dir=y"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("train:")]
    assert len(err) == 1 and "unknown experiment 'nope' for train" in err[0]
