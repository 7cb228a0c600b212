"""Exact dihedral augmentation (rot90 / flips) in the JPEG coefficient domain.

A left-right flip of the image reverses the block columns and multiplies
coefficient column l by (-1)^l; a transpose swaps block axes and within-block
(k, l) -> (l, k) and transposes the quant table. Every rot90/flip combination is a
composition of these, so augmented coefficients decompress to exactly the
augmented image: no re-compression, no rounding.
"""
import numpy as np
import tensorflow as tf

# numpy, not a tf.constant: no TF op may run at import time (MultiWorkerMirroredStrategy
# must configure collectives before the first one).
_SIGN = np.array([(-1) ** i for i in range(8)], np.int16)


def _blocks(c):
    s = tf.shape(c)
    return tf.reshape(c, [s[0] // 8, 8, s[1] // 8, 8])          # (bi, k, bj, l)


def _plane(b):
    s = tf.shape(b)
    return tf.reshape(b, [s[0] * 8, s[2] * 8])


def flip_lr(c):
    b = _blocks(c)
    return _plane(tf.reverse(b, [2]) * _SIGN[None, None, None, :])


def flip_ud(c):
    b = _blocks(c)
    return _plane(tf.reverse(b, [0]) * _SIGN[None, :, None, None])


def transpose(c):
    return _plane(tf.transpose(_blocks(c), [2, 3, 0, 1]))


def dihedral(coefficients, quant_table, op):
    """Apply dihedral op 0..7 (bit0: flip_lr, bit1: flip_ud, bit2: transpose) to
    a list of same-sized coefficient planes sharing one quant table."""
    op = tf.convert_to_tensor(op, tf.int32)

    def apply(c):
        c = tf.cond(op % 2 == 1, lambda: flip_lr(c), lambda: c)
        c = tf.cond((op // 2) % 2 == 1, lambda: flip_ud(c), lambda: c)
        return tf.cond(op // 4 == 1, lambda: transpose(c), lambda: c)

    q = tf.cond(op // 4 == 1, lambda: tf.transpose(quant_table), lambda: quant_table)
    return [apply(c) for c in coefficients], q
