"""Quantization & truncation (Q&T) of DCT residuals, the rich-model step the hybrid
framework keeps in its frozen first stage.

No gradient flows through it (as in the paper); `fake_derivative` reproduces the
paper's ablation where a constant derivative d replaces it.
"""
import functools
import math

import keras
import tensorflow as tf

MODES = ("signed", "abs")


def _round_half_away(x):
    # C's round(): Caffe's layer rounds halves away from zero, tf.round to even.
    return tf.sign(x) * tf.floor(tf.abs(x) + 0.5)


def quantize_truncate(z, step, threshold, mode):
    """The Q&T values (see QuantizeTruncate), no gradient handling."""
    if mode == "abs":
        # |round(z/q)| = floor(|z|/q + 0.5) for C's round: the same values in 3 passes
        # over the activations instead of 6 (this stage runs on every image, 3 times).
        q = tf.abs(z) if step is None else tf.floor(tf.abs(z) / step + 0.5)
        return q if threshold is None else tf.minimum(q, threshold)
    q = z if step is None else _round_half_away(z / step)
    return q if threshold is None else tf.clip_by_value(q, -threshold, threshold)


def _zero_pad(y, pad):
    if not pad:
        return y
    if y.shape.rank != 4:
        raise ValueError(f"QuantizeTruncate: pad={pad} needs a [batch, H, W, C] input, got shape {tuple(y.shape)}")
    return tf.pad(y, [[0, 0], [pad, pad], [pad, pad], [0, 0]])


@functools.lru_cache(maxsize=None)
def _fused(step, threshold, mode, pad):
    """Q&T and padding as one XLA computation, shared by the layers of one setting.
    Kept off the layer: a tf.function attribute would be tracked into SavedModels."""
    return tf.function(lambda z: _zero_pad(quantize_truncate(z, step, threshold, mode), pad),
                       jit_compile=True, autograph=False)


def _exact_reciprocal(step):
    """True when z * (1/q) is z / q for every float z (q a power of two): then any
    order of evaluation, fused multiply-add included, gives the same bits."""
    return step is None or math.frexp(step)[0] == 0.5


@keras.saving.register_keras_serializable(package="kerastego")
class QuantizeTruncate(keras.layers.Layer):
    """Q&T with step q and threshold T.

    mode="signed": sign(z) * min(round(|z|/q), T)   (paper, eq. 8)
    mode="abs":    min(|round(z/q)|, T)              (authors' released Caffe layer)
    step=None skips quantization, threshold=None skips truncation.
    pad: rows and columns of zeros around a [batch, H, W, C] output. Q&T maps 0 to 0,
      so this is the next convolution's (Caffe's) zero padding, done here where it
      costs no pass over the activations of its own.

    In training, with a power-of-two step (the paper's 1, 2 and 4), the element-wise
    ops and the padding compile into one XLA pass: Q&T runs three times on the
    largest activations of the hybrid, and op by op it took 1/6 of a training step
    on the CPU. The values are bit-identical to the op-by-op form (tested), which
    inference keeps, because TF Serving runs no XLA on the CPU unless told to.
    """

    def __init__(self, step=1.0, threshold=4.0, mode="abs", fake_derivative=None, pad=0, **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"QuantizeTruncate: mode must be one of {MODES}, got {mode!r}")
        if step is not None and step <= 0:
            raise ValueError(f"QuantizeTruncate: step must be positive, got {step}")
        if int(pad) < 0:
            raise ValueError(f"QuantizeTruncate: pad must be >= 0, got {pad}")
        self.step = None if step is None else float(step)
        self.threshold = None if threshold is None else float(threshold)
        self.mode = mode
        self.fake_derivative = None if fake_derivative is None else float(fake_derivative)
        self.pad = int(pad)

    def call(self, z, training=False):
        if training and self.fake_derivative is None and _exact_reciprocal(self.step):
            return tf.stop_gradient(_fused(self.step, self.threshold, self.mode, self.pad)(z))
        y = tf.stop_gradient(quantize_truncate(z, self.step, self.threshold, self.mode))
        if self.fake_derivative is not None:
            # Value unchanged, derivative d everywhere (the paper's ablation).
            y = y + self.fake_derivative * (z - tf.stop_gradient(z))
        return _zero_pad(y, self.pad)

    def compute_output_shape(self, input_shape):
        if not self.pad:
            return input_shape
        b, h, w, c = input_shape
        grow = lambda n: None if n is None else n + 2 * self.pad  # noqa: E731
        return (b, grow(h), grow(w), c)

    def get_config(self):
        config = super().get_config()
        config.update(step=self.step, threshold=self.threshold, mode=self.mode,
                      fake_derivative=self.fake_derivative, pad=self.pad)
        return config
