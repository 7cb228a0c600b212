"""Exact dihedral augmentation (rot90 / flips) in the JPEG coefficient domain.

A left-right flip of the image reverses the block columns and multiplies
coefficient column l by (-1)^l; a transpose swaps block axes and within-block
(k, l) -> (l, k) and transposes the quant table. Every rot90/flip combination is a
composition of these, so augmented coefficients decompress to exactly the
augmented image: no re-compression, no rounding.
"""
import numpy as np
import tensorflow as tf

from kerastego.conventions import COEFFICIENTS, QUANT_TABLE

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


def dihedral_batch(x, op):
    """Dihedral op 0..7 (as `dihedral`) on a whole model-input batch, for test-time
    averaging: {"coefficients": (B, H, W), "quant_table": (B, 8, 8)} exactly in the
    coefficient domain, or float images (B, H, W, 1) in the pixel domain."""
    op = int(op)
    if not 0 <= op < 8:
        raise ValueError(f"dihedral op must be in 0..7, got {op}")
    if not isinstance(x, dict):
        if op % 2:
            x = tf.reverse(x, [2])
        if (op // 2) % 2:
            x = tf.reverse(x, [1])
        return tf.transpose(x, [0, 2, 1, 3]) if op // 4 else x
    c, q = x[COEFFICIENTS], x[QUANT_TABLE]
    s = tf.shape(c)
    b = tf.reshape(c, [s[0], s[1] // 8, 8, s[2] // 8, 8])       # (n, bi, k, bj, l)
    if op % 2:
        b = tf.reverse(b, [3]) * _SIGN[None, None, None, None, :]
    if (op // 2) % 2:
        b = tf.reverse(b, [1]) * _SIGN[None, None, :, None, None]
    if op // 4:
        b, q = tf.transpose(b, [0, 3, 4, 1, 2]), tf.transpose(q, [0, 2, 1])
    return {**x, COEFFICIENTS: tf.reshape(b, [s[0], tf.shape(b)[1] * 8, tf.shape(b)[3] * 8]), QUANT_TABLE: q}
