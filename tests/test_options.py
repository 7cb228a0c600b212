"""A config tree from flat option names: TrainConfig's five sections hold every training
option once, under the flat name its flag has; make, replace and flat agree, and an
unknown name is refused naming it."""
import dataclasses

import pytest

from kerastego.options import flag_fields, flat, leaves, make, replace
from kerastego.training.config import TrainConfig


def test_every_training_option_has_one_flat_name_in_one_section():
    found = leaves(TrainConfig)
    names = [leaf.name for leaf in found]
    assert len(names) == len(set(names))
    assert {leaf.path[0] for leaf in found} == {"model", "data", "schedule", "selection", "runtime"}
    by_name = {leaf.name: leaf.path for leaf in found}
    assert by_name["train_data"] == ("data", "train") and by_name["model"] == ("model", "name")
    assert by_name["select_by"] == ("selection", "select_by") and by_name["out_dir"] == ("runtime", "out_dir")
    assert "verbose" not in {leaf.name for leaf in flag_fields(TrainConfig)}


def test_make_replace_and_flat_agree():
    cfg = make(TrainConfig, train_data="t-*", steps=7, model="srnet", select_by="p_e")
    assert (cfg.data.train, cfg.schedule.steps, cfg.model.name, cfg.selection.select_by) == ("t-*", 7, "srnet", "p_e")
    assert TrainConfig.of(train_data="t-*", steps=7, model="srnet", select_by="p_e") == cfg
    later = replace(cfg, steps=9, image_size=64)
    assert (later.schedule.steps, later.model.image_size, later.model.name) == (9, 64, "srnet")
    assert cfg.schedule.steps == 7                                    # a new tree, the old one unchanged
    values = flat(later)
    assert values["steps"] == 9 and values["train_data"] == "t-*" and make(TrainConfig, **values) == later
    assert set(values) == {leaf.name for leaf in leaves(TrainConfig)}


def test_an_unknown_option_is_refused_by_name():
    with pytest.raises(TypeError, match="TrainConfig has no option lerning_rate"):
        TrainConfig.of(lerning_rate=0.1)


def test_a_flat_config_is_a_tree_of_one_level():
    @dataclasses.dataclass
    class Flat:
        a: int = 1
        b: str = "x"
    assert flat(replace(Flat(), b="y")) == {"a": 1, "b": "y"}
