import numpy as np
import pytest
import tensorflow as tf

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
