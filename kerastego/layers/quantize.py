"""Quantization & truncation (Q&T) of DCT residuals, the rich-model step the hybrid
framework keeps in its frozen first stage, in `keras.ops` (every backend).

No gradient flows through it (as in the paper); `fake_derivative` reproduces the
paper's ablation where a constant derivative d replaces it.
"""
import keras
from keras import ops

MODES = ("signed", "abs")


def _round_half_away(x):
    # C's round(): Caffe's layer rounds halves away from zero, a plain round to even.
    return ops.sign(x) * ops.floor(ops.abs(x) + 0.5)


def quantize_truncate(z, step, threshold, mode):
    """The Q&T values (see QuantizeTruncate), no gradient handling."""
    if mode == "abs":
        # |round(z/q)| = floor(|z|/q + 0.5) for C's round: the same values in 3 passes
        # over the activations instead of 6 (this stage runs on every image, 3 times).
        q = ops.abs(z) if step is None else ops.floor(ops.abs(z) / step + 0.5)
        return q if threshold is None else ops.minimum(q, threshold)
    q = z if step is None else _round_half_away(z / step)
    return q if threshold is None else ops.clip(q, -threshold, threshold)


def zero_pad(y, pad):
    """`pad` rows and columns of zeros around a [batch, H, W, C] tensor."""
    if not pad:
        return y
    if len(y.shape) != 4:
        raise ValueError(f"QuantizeTruncate: pad={pad} needs a [batch, H, W, C] input, got shape {tuple(y.shape)}")
    return ops.pad(y, [[0, 0], [pad, pad], [pad, pad], [0, 0]])


@keras.saving.register_keras_serializable(package="kerastego")
class QuantizeTruncate(keras.layers.Layer):
    """Q&T with step q and threshold T.

    mode="signed": sign(z) * min(round(|z|/q), T)   (paper, eq. 8)
    mode="abs":    min(|round(z/q)|, T)              (authors' released Caffe layer)
    step=None skips quantization, threshold=None skips truncation.
    pad: rows and columns of zeros around a [batch, H, W, C] output. Q&T maps 0 to 0,
      so this is the next convolution's (Caffe's) zero padding, done here where it
      costs no pass over the activations of its own.
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

    def call(self, z):
        y = ops.stop_gradient(quantize_truncate(z, self.step, self.threshold, self.mode))
        if self.fake_derivative is not None:
            # Value unchanged, derivative d everywhere (the paper's ablation).
            y = y + self.fake_derivative * (z - ops.stop_gradient(z))
        return zero_pad(y, self.pad)

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
