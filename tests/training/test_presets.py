"""Presets come from the model's family (registry), never from its name or folder."""
import json

import pytest

from kerastego.models import build_model, save_architecture
from kerastego.training import TrainConfig
from kerastego.training.trainer import resolve_preset


@pytest.mark.parametrize("name, optimizer", [("srnet", "adamax"), ("calpa-srnet", "adamax"),
                                             ("xunet2", "sgd"), ("hybrid-type2", "sgd")])
def test_registered_models_train_with_their_familys_preset(name, optimizer):
    p = resolve_preset(TrainConfig(train_data="x", out_dir="y", model=name))
    assert p.optimizer == optimizer


def test_calpa_slim_srnet_json_trains_with_srnets_adamax(tmp_path):
    """A CALPA slim SRNet saved as <out_dir>/slim_model.json: no "srnet" in the path."""
    out = tmp_path / "prune_out"
    out.mkdir()
    path = str(out / "slim_model.json")
    save_architecture(build_model("calpa-srnet", input_shape=(64, 64, 1)), path)
    assert json.load(open(path))["kerastego"]["family"] == "srnet"
    p = resolve_preset(TrainConfig(train_data="x", out_dir="y", model=path))
    assert (p.optimizer, p.batch_pairs) == ("adamax", 16)


@pytest.mark.parametrize("name, optimizer", [("calpa-srnet", "adamax"), ("hybrid-type1", "sgd")])
def test_architecture_json_without_family_is_recognised_by_structure(tmp_path, name, optimizer):
    path = str(tmp_path / "slim_model.json")    # written before families were recorded
    with open(path, "w") as f:
        f.write(build_model(name, input_shape=(64, 64, 1)).to_json())
    assert resolve_preset(TrainConfig(train_data="x", out_dir="y", model=path)).optimizer == optimizer
