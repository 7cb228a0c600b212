"""CpuCaffeAvgPool2D: Caffe's pooling through TF's SAME pooling, a one-pass rectified
gradient where windows tile, and the depthwise-transpose gradient where they overlap."""
import numpy as np
import pytest

from kerastego.kernels.pool import CpuCaffeAvgPool2D as CaffeAvgPool2D


def _pool_and_grads(layer, x, training):
    import tensorflow as tf
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=training)
        loss = tf.reduce_sum(y * tf.range(1.0, 1.0 + y.shape[-1]))   # a gradient that differs per channel
    return y, tape.gradient(loss, x)


@pytest.mark.parametrize("n,k,s,pad", [(128, 5, 2, 1), (256, 5, 2, 1), (64, 32, 32, 0), (128, 5, 4, 0)])
def test_the_hybrids_pools_need_no_padded_copy(n, k, s, pad):
    """Where TF's SAME windows are Caffe's, the layer pools without tf.pad (a copy of
    the activations, and a slice in the gradient) and rescales the border windows."""
    import tensorflow as tf
    layer = CaffeAvgPool2D(k, s, pad=pad)
    graph = tf.function(layer).get_concrete_function(tf.TensorSpec((1, n, n, 2))).graph
    assert not [op for op in graph.get_operations() if op.type in ("Pad", "PadV2")]


def _relu_then_pool(n, k, s, pad):
    import keras
    inp = keras.Input((n, n, 3))
    return keras.Model(inp, CaffeAvgPool2D(k, s, pad=pad)(keras.layers.ReLU()(inp)))


@pytest.mark.parametrize("n,k,s,pad", [(64, 32, 32, 0), (16, 32, 32, 0), (128, 5, 2, 1)])
@pytest.mark.parametrize("training", [True, False])
def test_rectify_is_relu_then_pool(n, k, s, pad, training):
    """rectify=True is ReLU then the pooling, outputs and gradients bit for bit, whether or
    not the windows tile the input (the one-pass training gradient is used only where
    they do: the hybrid's pool3, 32x32 tiles of 64x64)."""
    import tensorflow as tf
    x = tf.constant(np.random.default_rng(n).normal(size=(2, n, n, 3)).astype("float32"))
    reference = _relu_then_pool(n, k, s, pad)
    rectified = CaffeAvgPool2D(k, s, pad=pad, rectify=True)
    for a, b in zip(_pool_and_grads(rectified, x, training), _pool_and_grads(reference, x, training)):
        np.testing.assert_array_equal(a, b)


def _gradient_ops(layer, shape, training):
    import tensorflow as tf

    @tf.function
    def grad(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=training)
        return tape.gradient(y, x)
    graph = grad.get_concrete_function(tf.TensorSpec(shape)).graph
    return {op.type for op in graph.get_operations()}


def test_rectify_trains_in_one_pass_where_windows_tile():
    tiled = _gradient_ops(CaffeAvgPool2D(32, 32, rectify=True), (2, 64, 64, 3), training=True)
    assert not {"AvgPoolGrad", "ReluGrad"} & tiled
    # Inference (what exports trace) and overlapping windows keep TF's own ops.
    assert {"AvgPoolGrad", "ReluGrad"} <= _gradient_ops(CaffeAvgPool2D(32, 32, rectify=True), (2, 64, 64, 3), False)
    assert "ReluGrad" in _gradient_ops(CaffeAvgPool2D(5, 2, pad=1, rectify=True), (2, 16, 16, 3), training=True)


def test_rectify_trains_under_xla():
    """The one-pass gradient inside a jit_compile train step (--jit_compile) gives the same."""
    import tensorflow as tf
    layer = CaffeAvgPool2D(32, 32, rectify=True)
    x = tf.constant(np.random.default_rng(5).normal(size=(2, 64, 64, 3)).astype("float32"))
    compiled = tf.function(lambda x: _pool_and_grads(layer, x, True), jit_compile=True)
    reference = _relu_then_pool(64, 32, 32, 0)
    for a, b in zip(compiled(x), _pool_and_grads(reference, x, True)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("n,k,s,pad", [(128, 5, 2, 1), (10, 3, 1, 1)])
def test_overlapping_windows_spread_their_gradient_by_depthwise_transpose(n, k, s, pad):
    """Windows overlapping by half or more (the hybrid's pool2) train with the depthwise
    transpose: the same outputs bit for bit, the same gradient to float rounding."""
    import tensorflow as tf
    layer = CaffeAvgPool2D(k, s, pad=pad)
    x = tf.constant(np.random.default_rng(n).normal(size=(2, n, n, 3)).astype("float32"))
    (y, g), (y_ref, g_ref) = _pool_and_grads(layer, x, True), _pool_and_grads(layer, x, False)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_allclose(g, g_ref, rtol=1e-6, atol=1e-6)
    ops = _gradient_ops(layer, (2, n, n, 3), training=True)
    assert "DepthwiseConv2dNativeBackpropInput" in ops and "AvgPoolGrad" not in ops
    assert "AvgPoolGrad" in _gradient_ops(CaffeAvgPool2D(5, 4), (2, 128, 128, 3), training=True)
    # bfloat16 keeps AvgPoolGrad: oneDNN's bfloat16 depthwise transpose is the slower there.
    assert "AvgPoolGrad" in _gradient_ops(CaffeAvgPool2D(k, s, pad=pad, dtype="mixed_bfloat16"), (2, n, n, 3), True)
