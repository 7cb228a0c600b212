import numpy as np
import pytest

from kerastego.jpeg_io import JpegError, plane_to_blocks, read_coefficients
from kerastego.layers import JpegDecompress, decompress_numpy


def test_matches_conseal_reference_on_real_jpegs(real_jpegs):
    import conseal
    coefs, qts = [], []
    for p in real_jpegs[:4]:
        c, q, _ = read_coefficients(p)
        coefs.append(c)
        qts.append(q)
    coefs, qts = np.stack(coefs), np.stack(qts)
    out = JpegDecompress()([coefs, qts]).numpy()
    assert out.shape == (4, 64, 64, 1)
    for i in range(4):
        ref = conseal.tools.decompress_channel(plane_to_blocks(coefs[i]).astype(np.float64), qts[i].astype(np.float64))
        np.testing.assert_allclose(out[i, :, :, 0], ref, atol=1e-3)
        np.testing.assert_allclose(decompress_numpy(coefs[i], qts[i]), ref, atol=1e-9)
    # Not rounded: the decompressed image carries fractional values a pixel decoder drops.
    assert np.mean(np.abs(out - np.round(out)) > 1e-3) > 0.5


def test_single_table_and_channel_axis(real_jpegs):
    c, q, _ = read_coefficients(real_jpegs[0])
    a = JpegDecompress(level_shift=False)([c[None, :, :, None], q]).numpy()
    np.testing.assert_allclose(a[0, :, :, 0], decompress_numpy(c, q, level_shift=False), atol=1e-3)


def test_bad_files_get_clear_errors(tmp_path, real_jpegs):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"hello")
    with pytest.raises(JpegError, match="bad.jpg: not a JPEG"):
        read_coefficients(bad)
    data = real_jpegs[0].read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(JpegError, match="cut.jpg: truncated"):
        read_coefficients(cut)
    with pytest.raises(JpegError, match="missing.jpg: file not found"):
        read_coefficients(tmp_path / "missing.jpg")


def test_colour_jpeg_rejected_unless_allowed(tmp_path):
    import jpeglib
    rgb = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    p = tmp_path / "colour.jpg"
    jpeglib.from_spatial(rgb).write_spatial(str(p), qt=75)
    with pytest.raises(JpegError, match="colour.jpg: colour JPEG"):
        read_coefficients(p)
    c, q, colour = read_coefficients(p, allow_colour=True)
    assert colour and c.shape == (32, 32)


def test_jpegio_backend_agrees(real_jpegs):
    pytest.importorskip("jpegio")
    a, qa, _ = read_coefficients(real_jpegs[1])
    b, qb, _ = read_coefficients(real_jpegs[1], backend="jpegio")
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(qa, qb)
