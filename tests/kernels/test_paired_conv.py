"""ColumnPairConv2D is keras.layers.Conv2D: same weights, config, outputs and gradients,
computed two output columns per window where the output has an even number of columns;
PairedInputGradConv2D is too, with its input gradient computed two columns at a time."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from kerastego.kernels.paired_conv import ColumnPairConv2D, PairedInputGradConv2D


def _pair(filters, kernel, strides, **kw):
    return [cls(filters, kernel, strides=strides, **kw) for cls in (ColumnPairConv2D, keras.layers.Conv2D)]


def _outputs_and_grads(layer, x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(y * y)
    return [y] + tape.gradient(loss, [x] + layer.trainable_variables)


def _wide_convs(layer, x):
    """Filter widths of the convolutions the layer runs."""
    graph = tf.function(layer).get_concrete_function(tf.TensorSpec(x.shape)).graph
    return [op.inputs[1].shape[-1] for op in graph.get_operations() if op.type == "Conv2D"]


@pytest.mark.parametrize("size,kernel,strides,bias,paired", [
    (36, 5, 2, False, True),     # the hybrid's conv1 (pad 2 around 32)
    (68, 5, 4, False, True),     # the hybrid's conv1 at 512x512 takes stride 4
    (20, 3, 1, True, True),      # stride 1, bias and activation
    (18, 3, (1, 2), False, True),  # rows and columns strided differently
    (37, 5, 2, False, False),    # 17 output columns: a plain Conv2D
])
def test_equals_keras_conv2d(size, kernel, strides, bias, paired):
    x = tf.constant(np.random.default_rng(size).normal(size=(2, size, size, 5)).astype(np.float32))
    layers = _pair(8, kernel, strides, padding="valid", use_bias=bias, activation="relu" if bias else None,
                   bias_initializer="random_normal")
    for layer in layers:
        layer.build(x.shape)
    layers[0].set_weights(layers[1].get_weights())
    for a, b in zip(_outputs_and_grads(layers[0], x), _outputs_and_grads(layers[1], x)):
        # The same sums in another order: float rounding of the largest terms.
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6 * float(np.abs(b).max()))
    assert _wide_convs(layers[0], x) == ([16] if paired else [8])


def test_same_padding_is_a_plain_conv2d():
    layer = ColumnPairConv2D(8, 3, padding="same")
    x = tf.zeros((1, 8, 8, 2))
    layer.build(x.shape)
    assert _wide_convs(layer, x) == [8]


def test_bfloat16_policy():
    layer = ColumnPairConv2D(8, 5, strides=2, dtype="mixed_bfloat16")
    y = layer(np.ones((1, 36, 36, 3), np.float32))
    assert y.dtype == tf.bfloat16 and y.shape == (1, 16, 16, 8)


def _input_gradient_conv_ops(layer, x):
    """The convolution ops of the graph of layer's input gradient."""
    @tf.function
    def input_gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
        return tape.gradient(y, x)
    graph = input_gradient.get_concrete_function(tf.TensorSpec(x.shape)).graph
    return sorted(op.type for op in graph.get_operations() if op.type.startswith("Conv2D"))


@pytest.mark.parametrize("size,kernel,paired", [
    (16, 3, True),          # the hybrid's conv2 shape: 3x3 on few input channels
    (12, (5, 3), True),     # rows and columns of different odd sizes
    (15, 3, False),         # an odd width: a plain Conv2D
])
def test_paired_input_gradient_equals_keras_conv2d(size, kernel, paired):
    x = tf.constant(np.random.default_rng(size).normal(size=(2, size, size, 8)).astype(np.float32))
    layers = [cls(32, kernel, padding="same", use_bias=True, activation="relu", bias_initializer="random_normal")
              for cls in (PairedInputGradConv2D, keras.layers.Conv2D)]
    for layer in layers:
        layer.build(x.shape)
    layers[0].set_weights(layers[1].get_weights())
    for a, b in zip(_outputs_and_grads(layers[0], x), _outputs_and_grads(layers[1], x)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6 * float(np.abs(b).max()))
    # The paired input gradient is a forward Conv2D with 16 filters, not Conv2DBackpropInput.
    assert _input_gradient_conv_ops(layers[0], x) == (["Conv2D", "Conv2D", "Conv2DBackpropFilter"] if paired
                                                      else ["Conv2D", "Conv2DBackpropFilter", "Conv2DBackpropInput"])


@pytest.mark.parametrize("padding,strides", [("valid", 1), ("same", 2)])
def test_paired_input_gradient_only_for_stride_one_same(padding, strides):
    layer = PairedInputGradConv2D(4, 3, strides=strides, padding=padding)
    x = tf.random.normal((1, 16, 16, 2))
    layer.build(x.shape)
    assert "Conv2DBackpropInput" in _input_gradient_conv_ops(layer, x)


def test_paired_input_gradient_under_bfloat16_and_xla():
    layer = PairedInputGradConv2D(8, 3, padding="same", dtype="mixed_bfloat16")
    x = tf.random.normal((2, 8, 8, 4))
    layer.build(x.shape)

    @tf.function(jit_compile=True)
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.cast(layer(x), tf.float32))
        return tape.gradient(loss, [x, layer.kernel])
    gx, gk = step(x)
    assert gx.shape == x.shape and gk.shape == (3, 3, 4, 8)
    assert np.all(np.isfinite(gx.numpy())) and np.any(gk.numpy() != 0)
