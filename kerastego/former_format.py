"""The one converter for model files of kerastego's former format, outside the model code.

Saved models hold stock Keras layers and kerastego's first-stage layers only. Files
written before the models became device-neutral name CPU layer classes in their place:
the same configs and weights under other class names. Readers refuse them with the
converter's command (`check_layer_classes`), which rewrites the class names once
(`bin/convert_model OLD NEW`, or `convert(old, new)`). No model definition names them.
"""
import json
import os
import zipfile

from kerastego.conventions import ARCHITECTURE_RECORD, FORMAT_VERSION
from kerastego.fileio import write_json

FORMER_CLASSES = {"ColumnPairConv2D": "Conv2D", "PairedInputGradConv2D": "Conv2D", "PointwiseConv2D": "Conv2D",
                  "PointwiseStridedConv2D": "Conv2D", "FusedBatchNormalization": "BatchNormalization"}
CONVERT_HINT = "convert it once with: bin/convert_model OLD NEW"
CONFIG_MEMBER = "config.json"


class ModelFormatError(ValueError):
    """A model file kerastego cannot read as it is; the message names the file and the fix."""


def former_classes(payload):
    """Sorted names of former CPU layer classes anywhere in a Keras config payload."""
    found = set()

    def walk(node):
        if isinstance(node, dict):
            if node.get("class_name") in FORMER_CLASSES:
                found.add(node["class_name"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(payload)
    return sorted(found)


def check_layer_classes(payload, what):
    """Refuse a config that holds former CPU layer classes, naming them and the fix."""
    found = former_classes(payload)
    if found:
        raise ModelFormatError(f"{what}: holds layer classes of kerastego's former format ({', '.join(found)}); "
                               + CONVERT_HINT)


def _converted(payload):
    """The payload with each former class as its stock Keras layer (same config)."""
    def walk(node):
        if isinstance(node, dict):
            node = {k: walk(v) for k, v in node.items()}
            if node.get("class_name") in FORMER_CLASSES:
                node.update(class_name=FORMER_CLASSES[node["class_name"]], module="keras.layers",
                            registered_name=None)
            return node
        return [walk(v) for v in node] if isinstance(node, list) else node
    return walk(payload)


def read_keras_config(path):
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read(CONFIG_MEMBER))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelFormatError(f"{path}: not a Keras .keras file ({e})") from e


def convert(src, dst):
    """Write `dst`: the .keras model or architecture .json `src` with its former CPU layer
    classes as stock Keras layers; returns the class names converted."""
    if os.path.abspath(src) == os.path.abspath(dst):
        raise ModelFormatError(f"{dst}: the converted file must not replace its source")
    if str(src).endswith(".json"):
        with open(src) as f:
            payload = json.load(f)
        found = former_classes(payload)
        converted = _converted(payload)
        if isinstance(converted.get(ARCHITECTURE_RECORD), dict):      # the family is known: the record is now
            converted[ARCHITECTURE_RECORD] = {**converted[ARCHITECTURE_RECORD], "format_version": FORMAT_VERSION}
        write_json(dst, converted, indent=1)
        return found
    payload = read_keras_config(src)
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == CONFIG_MEMBER:
                data = json.dumps(_converted(payload)).encode()
            new.writestr(item, data)
    return former_classes(payload)
