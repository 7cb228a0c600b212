"""Q&T as one XLA pass in training (TensorFlow, CPU): a run-time replacement of
kerastego.layers.QuantizeTruncate (kerastego.kernels.cpu), turned back into it when saved.

Q&T runs three times on the largest activations of the hybrid, and op by op it took a
sixth of a training step on the CPU. With a power-of-two step (the paper's 1, 2 and 4)
the element-wise ops and the padding compile into one pass with bit-identical values
(tested); inference keeps the op-by-op form.
"""
import functools
import math

import tensorflow as tf

from kerastego.layers import QuantizeTruncate
from kerastego.layers.quantize import quantize_truncate, zero_pad


@functools.lru_cache(maxsize=None)
def _fused(step, threshold, mode, pad):
    """Q&T and padding as one XLA computation, shared by the layers of one setting
    (kept off the layer: a tf.function attribute would be tracked into SavedModels)."""
    return tf.function(lambda z: zero_pad(quantize_truncate(z, step, threshold, mode), pad),
                       jit_compile=True, autograph=False)


def exact_reciprocal(step):
    """True when z * (1/q) is z / q for every float z (q a power of two): then any
    order of evaluation, fused multiply-add included, gives the same bits."""
    return step is None or math.frexp(step)[0] == 0.5


class FusedQuantizeTruncate(QuantizeTruncate):
    """QuantizeTruncate (same config and values) compiled into one XLA pass in training."""
    stock_class = QuantizeTruncate

    def call(self, z, training=False):
        if training and self.fake_derivative is None and exact_reciprocal(self.step):
            return tf.stop_gradient(_fused(self.step, self.threshold, self.mode, self.pad)(z))
        return super().call(z)
