"""The record a saved model carries: its format version, family and training tables
survive save and load, a record is replaced keeping what is not given, a family must be
one of the families, and a model whose record is of another format version is refused in
one line when loaded."""
import json
import zipfile

import numpy as np
import pytest

from kerastego.conventions import FORMAT_VERSION
from kerastego.models import build_model
from kerastego.models.quality import table_for_quality
from kerastego.models.record import model_record, recorded_family, with_record
from kerastego.models.saving import ModelFormatError, load_model


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    model = with_record(build_model("calpa-srnet", (64, 64, 1), input_kind="spatial"), "srnet",
                        [table_for_quality(75)])
    path = tmp_path_factory.mktemp("record") / "m.keras"
    model.save(path)
    return model, path


def test_the_record_survives_save_and_load(recorded):
    model, path = recorded
    record = model_record(load_model(str(path)))
    assert (record["family"], record["format_version"]) == ("srnet", FORMAT_VERSION)
    np.testing.assert_array_equal(record["tables"][0], table_for_quality(75))
    assert recorded_family(load_model(str(path))) == "srnet"


def test_a_record_is_replaced_keeping_what_is_not_given(recorded):
    model, _ = recorded
    again = with_record(model, tables=[table_for_quality(95)])
    assert model_record(again)["family"] == "srnet"
    np.testing.assert_array_equal(model_record(again)["tables"][0], table_for_quality(95))
    assert len([layer for layer in again.layers if type(layer).__name__ == "ModelRecord"]) == 1
    with pytest.raises(ValueError, match="family must be one of"):
        with_record(build_model("hybrid-type2", (64, 64, 1)))


def test_a_model_of_another_format_version_is_refused_in_one_line(recorded, tmp_path):
    _, path = recorded
    older = tmp_path / "older.keras"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(older, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "config.json":
                config = json.loads(data)
                for layer in config["config"]["layers"]:
                    if layer["class_name"] == "ModelRecord":
                        layer["config"]["format_version"] = FORMAT_VERSION + 1
                data = json.dumps(config).encode()
            dst.writestr(item, data)
    with pytest.raises(ModelFormatError) as caught:
        load_model(str(older))
    message = str(caught.value)
    assert message.startswith(str(older)) and "\n" not in message
    assert f"format {FORMAT_VERSION + 1} (this kerastego reads format {FORMAT_VERSION})" in message
