"""FusedBatchNormalization trains exactly like keras.layers.BatchNormalization (outputs,
gradients, moving statistics) and infers identically."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from kerastego.kernels.normalization import FusedBatchNormalization


WEIGHTS = tf.constant(np.random.default_rng(2).normal(size=(4, 9, 7, 5)).astype(np.float32))


def _pair(**kwargs):
    x = np.random.default_rng(0).normal(3.0, 2.0, (4, 9, 7, 5)).astype(np.float32)
    layers = [FusedBatchNormalization(momentum=0.9, **kwargs), keras.layers.BatchNormalization(momentum=0.9, **kwargs)]
    for layer in layers:
        layer.build(x.shape)
    rng = np.random.default_rng(1)
    weights = [rng.normal(1.0, 0.3, w.shape).astype(np.float32) for w in layers[1].get_weights()]
    weights[-1] = np.abs(weights[-1])          # a moving variance is positive
    for layer in layers:
        layer.set_weights(weights)
    return tf.constant(x), layers


def _train_step(layer, x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        loss = tf.reduce_sum(y * WEIGHTS)   # not constant per channel: gamma's gradient is not ~0
    return y, tape.gradient(loss, [x] + layer.trainable_variables)


@pytest.mark.parametrize("kwargs", [{}, {"epsilon": 1e-5}, {"center": False, "scale": False}])
def test_training_matches_keras(kwargs):
    x, (fused, ref) = _pair(**kwargs)
    for _ in range(3):
        (y1, g1), (y2, g2) = _train_step(fused, x), _train_step(ref, x)
        np.testing.assert_allclose(y1, y2, rtol=1e-5, atol=1e-5)
        for a, b in zip(g1, g2):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    for a, b in zip(fused.get_weights(), ref.get_weights()):   # moving mean and (biased) variance
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert "FusedBatchNormV3" in str(tf.function(lambda: fused(x, training=True)).get_concrete_function()
                                     .graph.as_graph_def())


def test_inference_is_keras_exactly():
    x, (fused, ref) = _pair()
    np.testing.assert_array_equal(fused(x, training=False), ref(x, training=False))


def test_bfloat16_policy_computes_statistics_in_float32():
    x, (_, ref) = _pair()
    fused = FusedBatchNormalization(momentum=0.9, dtype="mixed_bfloat16")
    fused.build(x.shape)
    fused.set_weights(ref.get_weights())
    y = fused(tf.cast(x, tf.bfloat16), training=True)
    assert y.dtype == tf.bfloat16 and fused.moving_mean.dtype == "float32"
    np.testing.assert_allclose(tf.cast(y, tf.float32), ref(tf.cast(tf.cast(x, tf.bfloat16), tf.float32),
                                                          training=True), atol=0.03)
