"""Quantization & truncation (Q&T) of DCT residuals, the rich-model step the hybrid
framework keeps in its frozen first stage.

No gradient flows through it (as in the paper); `fake_derivative` reproduces the
paper's ablation where a constant derivative d replaces it.
"""
import keras
import tensorflow as tf

MODES = ("signed", "abs")


def _round_half_away(x):
    # C's round(): Caffe's layer rounds halves away from zero, tf.round to even.
    return tf.sign(x) * tf.floor(tf.abs(x) + 0.5)


@keras.saving.register_keras_serializable(package="kerastego")
class QuantizeTruncate(keras.layers.Layer):
    """Q&T with step q and threshold T.

    mode="signed": sign(z) * min(round(|z|/q), T)   (paper, eq. 8)
    mode="abs":    min(|round(z/q)|, T)              (authors' released Caffe layer)
    step=None skips quantization, threshold=None skips truncation.
    """

    def __init__(self, step=1.0, threshold=4.0, mode="abs", fake_derivative=None, **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"QuantizeTruncate: mode must be one of {MODES}, got {mode!r}")
        if step is not None and step <= 0:
            raise ValueError(f"QuantizeTruncate: step must be positive, got {step}")
        self.step = None if step is None else float(step)
        self.threshold = None if threshold is None else float(threshold)
        self.mode = mode
        self.fake_derivative = None if fake_derivative is None else float(fake_derivative)

    def _forward(self, z):
        if self.mode == "abs":
            # |round(z/q)| = floor(|z|/q + 0.5) for C's round: the same values in 3 passes
            # over the activations instead of 6 (this stage runs on every image, 3 times).
            q = tf.abs(z) if self.step is None else tf.floor(tf.abs(z) / self.step + 0.5)
            return q if self.threshold is None else tf.minimum(q, self.threshold)
        q = z if self.step is None else _round_half_away(z / self.step)
        if self.threshold is None:
            return q
        return tf.clip_by_value(q, -self.threshold, self.threshold)

    def call(self, z):
        y = tf.stop_gradient(self._forward(z))
        if self.fake_derivative is not None:
            # Value unchanged, derivative d everywhere (the paper's ablation).
            y = y + self.fake_derivative * (z - tf.stop_gradient(z))
        return y

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(step=self.step, threshold=self.threshold, mode=self.mode,
                      fake_derivative=self.fake_derivative)
        return config
