import numpy as np
import pytest

from data_tools.bundled import bundled_photos
from data_tools.images import load_grayscale


def test_npz_photo_loads_as_is(tmp_path):
    img = np.random.default_rng(0).integers(0, 256, (40, 48), dtype=np.uint8)
    p = tmp_path / "photo.npz"
    np.savez(p, data=img)
    out, colour = load_grayscale(str(p))
    assert not colour
    np.testing.assert_array_equal(out, img)


def test_colour_npz_becomes_luma(tmp_path):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 1] = 200
    p = tmp_path / "rgb.npz"
    np.savez(p, data=rgb)
    out, colour = load_grayscale(str(p))
    assert colour and out.shape == (8, 8) and out[0, 0] == round(0.587 * 200)


@pytest.mark.parametrize("arrays, problem", [
    ({"a": np.zeros((8, 8), np.uint8), "b": np.zeros((8, 8), np.uint8)}, "one image array"),
    ({"data": np.zeros((8, 8), np.float32)}, "uint8"),
    ({"data": np.zeros(8, np.uint8)}, "shape"),
])
def test_bad_npz_is_named(tmp_path, arrays, problem):
    p = tmp_path / "bad.npz"
    np.savez(p, **arrays)
    with pytest.raises(ValueError, match=problem) as e:
        load_grayscale(str(p))
    assert str(p) in str(e.value)


def test_bundled_photos_are_distinct_real_photos():
    photos = bundled_photos()
    images = {}
    for source, path in photos:
        img, _ = load_grayscale(path)
        assert min(img.shape) >= 256 and img.std() > 10, path
        images.setdefault(source, img)
    # No two sources hold the same picture (PyWavelets' camera duplicates scikit-image's).
    sigs = {s: (img.shape, int(img[::16, ::16].sum())) for s, img in images.items()}
    assert len(set(sigs.values())) == len(sigs)
    assert len(images) >= 17
