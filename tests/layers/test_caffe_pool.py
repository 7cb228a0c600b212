import numpy as np
import pytest

from kerastego.kernels.pool import CpuCaffeAvgPool2D
from kerastego.layers import CaffeAvgPool2D, caffe_pool_geometry


def caffe_ave_pool_1d_reference(x, k, s, pad):
    """Direct transcription of Caffe's AVE pooling loop along one axis."""
    n = len(x)
    out = int(np.ceil((n + 2 * pad - k) / s)) + 1
    if pad and (out - 1) * s >= n + pad:
        out -= 1
    res = []
    for o in range(out):
        start = o * s - pad
        end = min(start + k, n + pad)
        size = end - start
        res.append(x[max(start, 0):min(end, n)].sum() / size)
    return np.array(res)


@pytest.mark.parametrize("n,k,s,pad", [(128, 5, 2, 1), (64, 32, 32, 0), (16, 32, 32, 0), (128, 5, 4, 0),
                                       (63, 32, 32, 0), (9, 3, 2, 1)])
@pytest.mark.parametrize("layer_class", [CaffeAvgPool2D, CpuCaffeAvgPool2D])
def test_matches_caffe_loop(n, k, s, pad, layer_class):
    rng = np.random.default_rng(n + k)
    x = rng.normal(size=(1, n, n, 2)).astype("float32")
    y = np.asarray(layer_class(k, s, pad=pad)(x))
    out, _ = caffe_pool_geometry(n, k, s, pad)
    assert y.shape == (1, out, out, 2)
    rows = np.stack([caffe_ave_pool_1d_reference(x[0, :, j, 0], k, s, pad) for j in range(n)], axis=1)
    expect = np.stack([caffe_ave_pool_1d_reference(rows[i], k, s, pad) for i in range(out)])
    np.testing.assert_allclose(y[0, :, :, 0], expect, rtol=1e-5, atol=1e-5)


def test_released_type1_sizes():
    assert caffe_pool_geometry(128, 5, 2, 1)[0] == 64
    assert caffe_pool_geometry(64, 32, 32, 0)[0] == 2


def test_rectify_is_in_the_config():
    import keras
    inp = keras.Input((64, 64, 2))
    model = keras.Model(inp, CaffeAvgPool2D(32, 32, rectify=True, name="p")(inp))
    clone = keras.models.model_from_json(model.to_json())
    assert clone.get_layer("p").rectify is True
    x = np.random.default_rng(0).normal(size=(1, 64, 64, 2)).astype("float32")
    np.testing.assert_allclose(clone(x).numpy(), np.maximum(x, 0).reshape(1, 2, 32, 2, 32, 2).mean((2, 4)), rtol=1e-6)
