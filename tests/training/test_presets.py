"""Presets come from the model's family (registry), never from its name or folder."""
import json

import pytest

from kerastego.models import build_model, save_architecture
from kerastego.training import TrainConfig
from kerastego.training.trainer import resolve_preset


@pytest.mark.parametrize("name, optimizer", [("srnet", "adamax"), ("calpa-srnet", "adamax"),
                                             ("xunet2", "sgd"), ("hybrid-type2", "sgd")])
def test_registered_models_train_with_their_familys_preset(name, optimizer):
    p = resolve_preset(TrainConfig.of(train_data="x", out_dir="y", model=name))
    assert p.optimizer == optimizer


def test_calpa_slim_srnet_json_trains_with_srnets_adamax(tmp_path):
    """A CALPA slim SRNet saved as <out_dir>/slim_model.json: no "srnet" in the path."""
    out = tmp_path / "prune_out"
    out.mkdir()
    path = str(out / "slim_model.json")
    save_architecture(build_model("calpa-srnet", input_shape=(64, 64, 1), input_kind="spatial"), path)
    assert json.load(open(path))["kerastego"]["family"] == "srnet"
    p = resolve_preset(TrainConfig.of(train_data="x", out_dir="y", model=path))
    assert (p.optimizer, p.batch_pairs) == ("adamax", 16)


@pytest.mark.parametrize("record", [None, {"family": "srnet"}, {"family": "srnet", "format_version": 2}])
def test_an_architecture_json_without_this_format_is_refused_in_one_line(tmp_path, record):
    path = tmp_path / "slim_model.json"
    payload = json.loads(build_model("calpa-srnet", input_shape=(64, 64, 1)).to_json())
    if record:
        payload["kerastego"] = record
    path.write_text(json.dumps(payload))
    with pytest.raises(ValueError, match=r"slim_model.json: an architecture JSON of format .* write it again"):
        resolve_preset(TrainConfig.of(train_data="x", out_dir="y", model=str(path)))
