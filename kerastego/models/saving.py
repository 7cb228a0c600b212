"""Loading saved kerastego models: Keras' safe_mode, a one-line refusal of files in
kerastego's former format that names the converter (kerastego.former_format), and of a
model whose record (kerastego.models.record) is of another format version."""
import os

from kerastego.conventions import FORMAT_VERSION
from kerastego.former_format import ModelFormatError, check_layer_classes, read_keras_config

__all__ = ["ModelFormatError", "check_record_version", "load_model"]


def load_model(path):
    """keras.models.load_model(path) with safe_mode on; a file of the former format, or
    whose kerastego record is of another format version, is refused in one line."""
    import keras
    if not os.path.isfile(path):
        raise ModelFormatError(f"{path}: no such model file")
    if str(path).endswith(".keras"):
        config = read_keras_config(path)
        check_layer_classes(config, str(path))
        check_record_version(config, str(path))
    return keras.models.load_model(path, safe_mode=True)


def check_record_version(config, what):
    """Refuse a Keras config whose ModelRecord layers hold another format version."""
    layers = config.get("config", {}).get("layers", []) if isinstance(config, dict) else []
    for layer in layers:
        if isinstance(layer, dict) and layer.get("class_name") == "ModelRecord":
            version = (layer.get("config") or {}).get("format_version")
            if version != FORMAT_VERSION:
                raise ModelFormatError(f"{what}: a kerastego model of format {version} (this kerastego reads "
                                       f"format {FORMAT_VERSION}): train or import it again")
