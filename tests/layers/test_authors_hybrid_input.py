"""The hybrid family sees exactly what the authors fed their Caffe network: their
released `.spatial` decompressions (MIT, tests/data/authors_hybrid) have no +128
level shift, and kerastego's in-graph decompression must equal them."""
import glob
import os

import numpy as np
import pytest

from kerastego.jpeg_io import read_coefficients
from kerastego.layers import JpegDecompress
from kerastego.models import build_model

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "authors_hybrid")
JPEGS = sorted(glob.glob(os.path.join(DATA, "originals", "*", "*.jpg")))


def _spatial(jpeg):
    rel = os.path.relpath(jpeg, os.path.join(DATA, "originals"))
    return np.loadtxt(os.path.join(DATA, "spatial_representations", rel[:-4] + ".spatial"), dtype=np.float64)


def test_four_released_pairs_are_present():
    assert len(JPEGS) == 4


@pytest.mark.parametrize("jpeg", JPEGS, ids=[os.path.relpath(p, DATA) for p in JPEGS])
def test_in_graph_decompression_equals_authors_spatial_files(jpeg):
    c, qt, _ = read_coefficients(jpeg)
    want = _spatial(jpeg)
    assert want.shape == c.shape == (256, 256)
    got = JpegDecompress(level_shift=False)([c[None], qt[None]]).numpy()[0, ..., 0]
    np.testing.assert_allclose(got, want, atol=1e-3, rtol=0)
    # the other convention differs by the shift alone: the test can tell them apart
    shifted = JpegDecompress(level_shift=True)([c[None], qt[None]]).numpy()[0, ..., 0]
    assert np.abs(shifted - want).min() > 127.9


@pytest.mark.parametrize("name", ["hybrid-type1", "hybrid-type2", "hybrid-type1-noqt"])
@pytest.mark.parametrize("input_kind", ["coefficients", "spatial"])
def test_hybrid_models_feed_the_authors_convention_to_the_dct_stage(name, input_kind):
    import keras
    from kerastego.layers import decompress_tf
    model = build_model(name, input_shape=(256, 256, 1), input_kind=input_kind)
    dct = [l for l in model.layers if l.name.startswith("dct")][0]
    stage_input = keras.Model(model.inputs, dct.input)
    c, qt, _ = read_coefficients(JPEGS[0])
    if input_kind == "coefficients":
        x = {"coefficients": c[None], "quant_table": qt[None]}
    else:   # a spatial model takes pixel range (with +128), like every other model
        x = decompress_tf(c[None], qt[None])
    got = np.asarray(stage_input(x))[0, ..., 0]
    np.testing.assert_allclose(got, _spatial(JPEGS[0]), atol=1e-3, rtol=0)


@pytest.mark.parametrize("name", ["srnet", "xunet2", "calpa-srnet"])
def test_srnet_family_keeps_the_level_shift(name):
    import keras
    model = build_model(name, input_shape=(64, 64, 1), input_kind="coefficients")
    decompress = keras.Model(model.inputs, model.get_layer("jpeg_decompress").output)
    c, qt, _ = read_coefficients(JPEGS[0])
    got = np.asarray(decompress({"coefficients": c[None, :64, :64], "quant_table": qt[None]}))[0, ..., 0]
    np.testing.assert_allclose(got, _spatial(JPEGS[0])[:64, :64] + 128.0, atol=1e-3, rtol=0)
