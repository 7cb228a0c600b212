"""Loading saved kerastego models: Keras' safe_mode, and a one-line refusal of files in
kerastego's former format that names the converter (kerastego.former_format)."""
import os

from kerastego.former_format import ModelFormatError, check_layer_classes, read_keras_config

__all__ = ["ModelFormatError", "load_model"]


def load_model(path):
    """keras.models.load_model(path) with safe_mode on; a file of the former format is
    refused in one line naming the converter."""
    import keras
    if not os.path.isfile(path):
        raise ModelFormatError(f"{path}: no such model file")
    if str(path).endswith(".keras"):
        check_layer_classes(read_keras_config(path), str(path))
    return keras.models.load_model(path, safe_mode=True)
