"""A trained model knows its training quality: detect, the export and evaluate flag files and
test sets of another."""
import json
import os

import numpy as np
import pytest


@pytest.fixture(scope="module")
def trained_qf75(small_dataset, tmp_path_factory):
    """A model the trainer saved after one step on QF75 pairs."""
    from kerastego.training import TrainConfig, train
    out = tmp_path_factory.mktemp("qf75")
    s = train(TrainConfig.of(train_data=str(small_dataset["records"] / "train-*"), out_dir=str(out), image_size=64,
                          model="hybrid-type2", batch_pairs=4, steps=1, verbose=0))
    return s["final_model"]


def _jpeg_at(tmp_path, quality, name):
    import jpeglib
    from skimage import data
    path = str(tmp_path / name)
    jpeglib.from_spatial(np.ascontiguousarray(data.camera()[:64, :64])[..., None]).write_spatial(path, qt=quality)
    return path


def test_a_model_knows_its_training_quality_and_detect_flags_others(tmp_path, trained_qf75):
    import keras
    from kerastego.jobs.detect import KerasDetector, detect, format_rows
    from kerastego.models.quality import estimate_quality, training_tables
    from kerastego.conventions import FORMAT_VERSION
    from kerastego.models.record import model_record
    loaded = keras.models.load_model(trained_qf75)
    assert [estimate_quality(t) for t in training_tables(loaded)] == [75]
    record = model_record(loaded)
    assert (record["family"], record["format_version"]) == ("hybrid", FORMAT_VERSION)
    qf30, qf75 = _jpeg_at(tmp_path, 30, "qf30.jpg"), _jpeg_at(tmp_path, 75, "qf75.jpg")
    rows = {os.path.basename(r["file"]): r for r in detect([qf30, qf75], KerasDetector(trained_qf75))}
    assert rows["qf30.jpg"]["quality_warning"] == "quality differs from training (QF~30 vs 75): verdict unreliable"
    assert rows["qf75.jpg"]["quality_warning"] == ""
    table = format_rows(list(rows.values()))
    assert "UNRELIABLE: quality differs from training (QF~30 vs 75)" in table
    assert json.loads(format_rows(list(rows.values()), "json"))[0]["quality_warning"]
    assert "quality_warning" in format_rows(list(rows.values()), "csv").splitlines()[0]


def test_the_export_carries_the_training_quality(tmp_path, trained_qf75):
    from kerastego.export import export_savedmodel
    from kerastego.jobs.detect import SavedModelDetector, detect
    from kerastego.models.quality import estimate_quality
    detector = SavedModelDetector(export_savedmodel(trained_qf75, str(tmp_path / "serving")))
    assert [estimate_quality(t) for t in detector.training_tables] == [75]
    (row,) = detect([_jpeg_at(tmp_path, 95, "qf95.jpg")], detector)
    assert "QF~95 vs 75" in row["quality_warning"]


def test_evaluate_reports_a_test_set_of_another_quality(small_dataset, trained_qf75, tmp_path):
    from kerastego.evaluation import evaluate, format_report
    from kerastego.models.quality import table_for_quality
    from kerastego.models.record import with_record
    import keras
    same = evaluate([trained_qf75], str(small_dataset["records"] / "test-*"), names=["m"])
    assert same["models"]["m"]["quality_warning"] is None
    other = with_record(keras.models.load_model(trained_qf75), tables=[table_for_quality(95)])
    report = evaluate([other], str(small_dataset["records"] / "test-*"), names=["m95"])
    assert report["models"]["m95"]["quality_warning"] == ("quality differs from training (QF~75 vs 95): "
                                                          "verdict unreliable")
    assert "WARNING m95: quality differs" in format_report(report)
