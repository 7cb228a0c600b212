import numpy as np

from kerastego.jobs.detect import KerasDetector, SavedModelDetector, detect, format_rows
from kerastego.models import build_model


def test_detect_good_bad_colour_and_large_files(tmp_path, real_jpegs):
    import jpeglib
    m = build_model("hybrid-type2", input_shape=(64, 64, 1), input_kind="coefficients")
    m.save(tmp_path / "m.keras")
    d = KerasDetector(str(tmp_path / "m.keras"))
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "broken.jpg").write_bytes(b"\xff\xd8garbage")
    rgb = np.random.default_rng(0).integers(0, 255, (128, 192, 3), dtype=np.uint8)
    jpeglib.from_spatial(rgb).write_spatial(str(folder / "colour.jpg"), qt=75)
    small = np.zeros((32, 32), np.uint8)
    jpeglib.from_spatial(small[..., None]).write_spatial(str(folder / "small.jpg"), qt=75)
    rows = detect([str(real_jpegs[0]), str(folder)], d)
    by = {r["file"].rsplit("/", 1)[-1]: r for r in rows}
    assert 0 <= by[real_jpegs[0].name]["probability"] <= 1 and by[real_jpegs[0].name]["tiles"] == 1
    assert "broken.jpg" in by["broken.jpg"]["error"] and by["broken.jpg"]["probability"] is None
    assert by["colour.jpg"]["note"] == "colour JPEG: luminance channel used" and by["colour.jpg"]["tiles"] == 6
    assert "too small: 32x32" in by["small.jpg"]["error"]
    table = format_rows(rows)
    assert "ERROR" in table and "colour JPEG" in table
    assert format_rows(rows, "csv").splitlines()[0].startswith("file,probability")
    # the same probability from the model alone on the same coefficients
    from kerastego.jpeg_io import read_coefficients
    c, q, _ = read_coefficients(real_jpegs[0])
    ref = m.predict({"coefficients": c[None], "quant_table": q[None]}, verbose=0)[0, 1]
    assert abs(by[real_jpegs[0].name]["probability"] - ref) < 1e-5


def test_savedmodel_detector(tmp_path, real_jpegs):
    from kerastego.export import export_savedmodel
    m = build_model("hybrid-type2", input_shape=(64, 64, 1), input_kind="coefficients")
    path = export_savedmodel(m, str(tmp_path), "h")
    m.save(tmp_path / "m.keras")
    a = detect([str(p) for p in real_jpegs[:2]], SavedModelDetector(path))
    b = detect([str(p) for p in real_jpegs[:2]], KerasDetector(str(tmp_path / "m.keras")))
    np.testing.assert_allclose([r["probability"] for r in a], [r["probability"] for r in b], atol=1e-5)


def test_detect_views_average_flipped_tiles(tmp_path, real_jpegs):
    from kerastego.jpeg_io import read_coefficients
    from kerastego.data.augment import flip_lr
    m = build_model("hybrid-type2", input_shape=(64, 64, 1), input_kind="coefficients")
    m.save(tmp_path / "m.keras")
    d = KerasDetector(str(tmp_path / "m.keras"))
    row, = detect([str(real_jpegs[1])], d, views=2)
    c, q, _ = read_coefficients(real_jpegs[1])
    plain = m.predict({"coefficients": c[None], "quant_table": q[None]}, verbose=0)[0, 1]
    flipped = m.predict({"coefficients": flip_lr(c.astype(np.int16)).numpy()[None], "quant_table": q[None]},
                        verbose=0)[0, 1]
    assert abs(row["probability"] - (plain + flipped) / 2) < 1e-5 and abs(plain - flipped) > 1e-6
