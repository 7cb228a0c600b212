"""Saved models hold stock layers; files of the former format (CPU layer classes) are
refused in one line naming the converter, and the converter makes them load and
compute as before."""
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from kerastego.models import build_model
from kerastego.former_format import FORMER_CLASSES, ModelFormatError
from kerastego.models.saving import load_model

BIN = os.path.join(os.path.dirname(__file__), "..", "..", "bin")


def _convert_model():
    """The convert_model command, whose main(argv) runs in this process."""
    from kerastego.cli import convert_model
    return convert_model
FORMER = {"sub0_conv1": ("ColumnPairConv2D", "kerastego.layers.paired_conv"),
          "sub0_conv2": ("PairedInputGradConv2D", "kerastego.layers.paired_conv"),
          "sub0_conv3": ("PointwiseConv2D", "kerastego.layers.conv"),
          "sub0_conv1_bn": ("FusedBatchNormalization", "kerastego.layers.normalization")}


def _as_former_format(src, dst):
    """`src` rewritten as the former format stored it: four layers under CPU class names."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == "config.json":
                payload = json.loads(data)
                for layer in payload["config"]["layers"]:
                    if layer["name"] in FORMER:
                        cls, module = FORMER[layer["name"]]
                        layer.update(class_name=cls, module=module, registered_name=f"kerastego>{cls}")
                data = json.dumps(payload).encode()
            new.writestr(item, data)


def test_a_former_format_file_is_refused_then_converted(tmp_path):
    model = build_model("hybrid-type1", (64, 64, 1), input_kind="spatial")
    model.save(tmp_path / "new.keras")
    _as_former_format(tmp_path / "new.keras", tmp_path / "old.keras")
    with pytest.raises(ModelFormatError) as e:
        load_model(str(tmp_path / "old.keras"))
    message = str(e.value)
    assert "\n" not in message and "old.keras" in message and "bin/convert_model OLD NEW" in message
    assert all(cls in message for cls, _ in FORMER.values())
    r = subprocess.run([sys.executable, os.path.join(BIN, "convert_model"), str(tmp_path / "old.keras"),
                        str(tmp_path / "converted.keras")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "ColumnPairConv2D" in r.stdout
    converted = load_model(str(tmp_path / "converted.keras"))
    assert {type(converted.get_layer(n)).__name__ for n in FORMER} == {"Conv2D", "BatchNormalization"}
    x = np.random.default_rng(0).normal(128, 30, (2, 64, 64, 1)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(converted(x)), np.asarray(model(x)))


def test_a_former_architecture_file_is_refused_naming_the_converter(tmp_path):
    from kerastego.models import save_architecture
    save_architecture(build_model("calpa-srnet", (64, 64, 1), input_kind="spatial"), tmp_path / "former.json")
    payload = json.loads((tmp_path / "former.json").read_text())
    del payload["kerastego"]["format_version"]                 # the former files recorded the family only
    for layer in payload["config"]["layers"]:
        if layer["name"] == "L9_short":
            layer.update(class_name="PointwiseStridedConv2D", module="kerastego.layers.conv")
    (tmp_path / "slim_model.json").write_text(json.dumps(payload))
    with pytest.raises(ModelFormatError, match="slim_model.json: .*PointwiseStridedConv2D.*convert_model"):
        build_model(str(tmp_path / "slim_model.json"), (64, 64, 1), input_kind="spatial")
    assert _convert_model().main(["convert_model", str(tmp_path / "slim_model.json"), str(tmp_path / "new.json")]) == 0
    rebuilt = build_model(str(tmp_path / "new.json"), (64, 64, 1), input_kind="spatial")
    assert type(rebuilt.get_layer("L9_short")).__name__ == "Conv2D"


def test_the_converter_refuses_bad_input_in_one_line(tmp_path, capsys):
    (tmp_path / "junk.keras").write_bytes(b"not a zip")
    convert_model = _convert_model()
    for args, code, problem in (([str(tmp_path / "junk.keras"), str(tmp_path / "out.keras")], 1,
                                 "not a Keras .keras file"),
                                ([str(tmp_path / "junk.keras"), str(tmp_path / "junk.keras")], 1, "must not replace"),
                                ([str(tmp_path / "junk.keras")], 2, "usage")):
        assert convert_model.main(["convert_model", *args]) == code
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and problem in err[0]
    assert set(FORMER_CLASSES.values()) == {"Conv2D", "BatchNormalization"}
