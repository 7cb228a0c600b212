import numpy as np
import pytest
import tensorflow as tf

from kerastego.kernels.quantize import FusedQuantizeTruncate
from kerastego.layers import QuantizeTruncate

Z = np.array([-9.7, -4.4, -2.5, -0.6, 0.0, 0.4, 1.5, 2.6, 3.9, 7.2], dtype="float32")


def test_signed_mode_is_paper_eq8():
    y = QuantizeTruncate(step=2, threshold=3, mode="signed")(Z).numpy()
    expect = np.sign(Z) * np.minimum(np.floor(np.abs(Z) / 2 + 0.5), 3)
    np.testing.assert_array_equal(y, expect)
    assert y.min() == -3 and y.max() == 3


def test_abs_mode_is_released_layer():
    y = QuantizeTruncate(step=1, threshold=4, mode="abs")(Z).numpy()
    np.testing.assert_array_equal(y, [4, 4, 3, 1, 0, 0, 2, 3, 4, 4])


def test_truncation_only_and_quantization_only():
    np.testing.assert_allclose(QuantizeTruncate(step=None, threshold=4, mode="signed")(Z).numpy(),
                               np.clip(Z, -4, 4))
    np.testing.assert_array_equal(QuantizeTruncate(step=4, threshold=None, mode="abs")(Z).numpy(),
                                  np.abs(np.sign(Z) * np.floor(np.abs(Z) / 4 + 0.5)))


def test_gradient_is_exactly_zero_or_fake_derivative():
    z = tf.Variable(Z)
    for d, expect in ((None, 0.0), (0.01, 0.01)):
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(QuantizeTruncate(step=1, threshold=4, fake_derivative=d)(z))
        g = tape.gradient(y, z, unconnected_gradients=tf.UnconnectedGradients.ZERO).numpy()
        np.testing.assert_allclose(g, np.full_like(Z, expect), rtol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        QuantizeTruncate(mode="other")
    with pytest.raises(ValueError, match="step"):
        QuantizeTruncate(step=0)


@pytest.mark.parametrize("step,threshold", [(1, 4), (2, 4), (4, 4), (3, 2), (0.7, None)])
def test_abs_mode_equals_caffe_round_then_abs_bit_for_bit(step, threshold):
    """The fast form floor(|z|/q + 0.5) is exactly |C-round(z/q)| (halves included)."""
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal(0, 30, 20000), np.arange(-40, 40.5, 0.5) * step]).astype(np.float32)
    x = z / np.float32(step)
    expect = np.abs(np.sign(x) * np.floor(np.abs(x) + np.float32(0.5)))
    expect = expect if threshold is None else np.minimum(expect, threshold)
    np.testing.assert_array_equal(QuantizeTruncate(step=step, threshold=threshold, mode="abs")(z).numpy(), expect)


def _halves_and_noise(step, shape=(2, 12, 12, 5)):
    """Random residuals with exact rounding ties (k + 1/2) * q mixed in."""
    rng = np.random.default_rng(7)
    z = rng.normal(0, 6, shape).astype(np.float32)
    ties = (rng.integers(-12, 12, shape) + 0.5).astype(np.float32) * np.float32(step or 1)
    return np.where(rng.random(shape) < 0.3, ties, z).astype(np.float32)


@pytest.mark.parametrize("mode", ["abs", "signed"])
@pytest.mark.parametrize("step,threshold", [(1, 4), (2, 4), (4, 4), (0.5, None), (None, 3)])
def test_training_pass_is_bit_identical_to_the_inference_ops(mode, step, threshold):
    """The CPU kernel compiles Q&T and its padding into one XLA pass in training; the
    stock layer (inference, every export, every backend) is op by op. Both give the same
    bits, ties included."""
    z = _halves_and_noise(step)
    layer = FusedQuantizeTruncate(step=step, threshold=threshold, mode=mode, pad=2)
    fused, plain = layer(z, training=True).numpy(), layer(z, training=False).numpy()
    np.testing.assert_array_equal(fused, plain)
    unpadded = QuantizeTruncate(step=step, threshold=threshold, mode=mode)(z).numpy()
    np.testing.assert_array_equal(plain, np.pad(unpadded, [(0, 0), (2, 2), (2, 2), (0, 0)]))


def test_pad_is_the_next_convolutions_zero_border():
    layer = QuantizeTruncate(step=2, threshold=4, pad=2)
    z = _halves_and_noise(2, (1, 8, 8, 3))
    y = layer(z).numpy()
    assert y.shape == (1, 12, 12, 3) == layer.compute_output_shape((1, 8, 8, 3))
    assert not y[:, :2].any() and not y[:, -2:].any() and not y[:, :, :2].any() and not y[:, :, -2:].any()
    assert QuantizeTruncate.from_config(layer.get_config()).pad == 2
    with pytest.raises(ValueError, match=r"pad=2 needs a \[batch, H, W, C\] input"):
        layer(Z)
    with pytest.raises(ValueError, match="pad must be >= 0"):
        QuantizeTruncate(pad=-1)


@pytest.mark.parametrize("layer_class", [QuantizeTruncate, FusedQuantizeTruncate])
def test_gradient_is_exactly_zero_in_the_training_pass(layer_class):
    z = tf.Variable(_halves_and_noise(1, (1, 8, 8, 2)))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(layer_class(step=1, threshold=4, pad=2)(z, training=True))
    g = tape.gradient(y, z, unconnected_gradients=tf.UnconnectedGradients.ZERO).numpy()
    assert np.all(g == 0.0)
