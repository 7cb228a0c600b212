"""PointwiseConv2D and PointwiseStridedConv2D are keras.layers.Conv2D (PointwiseStridedConv2D's
outputs and gradients: bit for bit on the even sizes SRNet has, to float rounding on odd ones), and
CALPA-SRNet under the CPU rewrite trains at 256x256 under oneDNN (the stock 1x1 stride-2
filter gradient with < 16 input channels corrupts the heap there: run in a child process)."""
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerastego.kernels.conv import PointwiseConv2D, PointwiseStridedConv2D


def _outputs_and_gradients_of_twins(layers, x):
    """Pairs (kerastego layer's, Keras layer's) of outputs and gradients, same weights."""
    for layer in layers:
        layer.build(x.shape)
    layers[0].set_weights(layers[1].get_weights())
    results = []
    for layer in layers:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(y * y)
        results.append([y] + tape.gradient(loss, [x] + layer.trainable_variables))
    return list(zip(*results))


@pytest.mark.parametrize("padding,size", [("same", 16), ("same", 15), ("valid", 15)])
def test_equals_keras_conv2d(padding, size):
    x = tf.constant(np.random.default_rng(0).normal(size=(2, size, size, 14)).astype(np.float32))
    layers = [cls(19, 1, strides=2, padding=padding) for cls in (PointwiseStridedConv2D, keras.layers.Conv2D)]
    for a, b in _outputs_and_gradients_of_twins(layers, x):
        if size % 2 == 0:
            np.testing.assert_array_equal(a, b)
        else:   # another kernel path sums in another order
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)


CHILD = r"""
import numpy as np, tensorflow as tf
from kerastego.kernels import cpu
from kerastego.models import build_model
m = cpu.rewrite(build_model("calpa-srnet", (256, 256, 1), input_kind="spatial"))
x = tf.constant(np.random.default_rng(0).normal(0, 30, (16, 256, 256, 1)).astype(np.float32))
@tf.function
def step():
    with tf.GradientTape() as t:
        l = tf.reduce_sum(m(x, training=True))
    return t.gradient(l, m.trainable_variables)
for _ in range(2):
    [g.numpy() for g in step()]
print("trained")
"""


def test_calpa_srnet_trains_at_256_under_onednn():
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    r = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0 and "trained" in r.stdout, r.stderr[-2000:]


def _matmuls_and_convs(layer, x):
    graph = tf.function(layer).get_concrete_function(tf.TensorSpec(x.shape)).graph
    return sorted(op.type for op in graph.get_operations() if op.type in ("MatMul", "Conv2D"))


@pytest.mark.parametrize("kernel,strides,ops", [(1, 1, ["MatMul"]), (1, 2, ["Conv2D"]), (3, 1, ["Conv2D"])])
def test_pointwise_is_keras_conv2d(kernel, strides, ops):
    """A 1x1 stride-1 kernel runs as a matmul; anything else is a plain Conv2D. Outputs and
    gradients equal Conv2D's to float rounding, with bias and activation."""
    x = tf.constant(np.random.default_rng(kernel).normal(size=(2, 12, 12, 32)).astype(np.float32))
    layers = [cls(24, kernel, strides=strides, padding="same", activation="relu", bias_initializer="random_normal")
              for cls in (PointwiseConv2D, keras.layers.Conv2D)]
    for a, b in _outputs_and_gradients_of_twins(layers, x):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6 * float(np.abs(b).max()))
    assert _matmuls_and_convs(layers[0], x) == ops


def test_pointwise_takes_any_batch_and_bfloat16():
    inp = keras.Input((8, 8, 4))
    model = keras.Model(inp, PointwiseConv2D(6, 1, name="p", dtype="mixed_bfloat16")(inp))
    for batch in (1, 3):
        y = model(np.ones((batch, 8, 8, 4), np.float32))
        assert y.shape == (batch, 8, 8, 6) and y.dtype == tf.bfloat16
