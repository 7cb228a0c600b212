"""Every registered model is made of stock Keras layers and kerastego's first-stage layers
only: built, trained (by the trainer, which computes with the CPU kernels here) and saved
(.keras and architecture JSON)."""
import json
import zipfile

import keras
import pytest

import kerastego.layers
from kerastego.models import build_model, model_names, save_architecture
from kerastego.training import TrainConfig, train

PAPER_LAYERS = {getattr(kerastego.layers, n) for n in kerastego.layers.__all__
                if isinstance(getattr(kerastego.layers, n), type)}


def _foreign(classes):
    """Layer classes that are neither stock Keras nor the papers' layers."""
    return {c for c in classes if not c.__module__.startswith("keras.") and c not in PAPER_LAYERS}


def _config_classes(payload):
    """(module, class name) of every layer in a Keras config payload."""
    return {(layer["module"], layer["class_name"]) for layer in payload["config"]["layers"]}


def _allowed(module, name):
    return module == "keras.layers" or (module.startswith("kerastego.layers.") and name in kerastego.layers.__all__)


@pytest.mark.parametrize("name", model_names())
def test_built_trained_and_saved_models_hold_only_stock_and_paper_layers(name, small_dataset, tmp_path):
    built = build_model(name, (64, 64, 1), input_kind="coefficients")
    assert not _foreign(type(layer) for layer in built.layers)
    save_architecture(built, tmp_path / "arch.json")
    assert all(_allowed(*c) for c in _config_classes(json.loads((tmp_path / "arch.json").read_text())))
    records = small_dataset["records"]
    summary = train(TrainConfig.of(train_data=str(records / "train-*"), out_dir=str(tmp_path / "run"), model=name,
                                image_size=64, batch_pairs=2, steps=1, checkpoint_every=1, verbose=0))
    assert summary["cpu_kernels"] is True      # it trained on the CPU classes, and saved stock ones
    with zipfile.ZipFile(summary["final_model"]) as archive:
        saved = _config_classes(json.loads(archive.read("config.json")))
    assert all(_allowed(*c) for c in saved), sorted(c for c in saved if not _allowed(*c))
    loaded = keras.models.load_model(summary["final_model"])
    assert not _foreign(type(layer) for layer in loaded.layers)
    assert {type(layer) for layer in built.layers} <= {type(layer) for layer in loaded.layers}
