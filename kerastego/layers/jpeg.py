"""In-graph JPEG decompression: quantized DCT coefficients -> non-rounded pixels.

Steganalysis needs the decompressed image *before* rounding to 0..255; doing the
(linear) dequantize + IDCT in the graph lets a model, and a SavedModel, take the
int16 coefficients a JPEG stores. The layer is `keras.ops` (every backend);
`decompress_tf` is the same sums for TensorFlow-only code (tf.data, SavedModel
signatures), which imports TensorFlow only when called.
"""
import numpy as np
import keras
from keras import ops

from kerastego.layers.basic import FrozenLayer


def idct_matrix():
    """8x8 orthonormal DCT-II matrix D[k, m]; a block is x = D^T (C * Q) D."""
    k = np.arange(8)
    w = np.where(k == 0, 1.0 / np.sqrt(2.0), 1.0) / 2.0
    return w[:, None] * np.cos(np.pi * np.outer(k, 2 * k + 1) / 16.0)


def decompress_numpy(coefficients, quant_table, level_shift=True):
    """Reference decompression in numpy (float64), same layout as JpegDecompress."""
    c = np.asarray(coefficients, dtype=np.float64)
    h, w = c.shape
    d = idct_matrix()
    blocks = c.reshape(h // 8, 8, w // 8, 8) * np.asarray(quant_table, np.float64)[None, :, None, :]
    x = np.einsum("km,ikjl,ln->imjn", d, blocks, d).reshape(h, w)
    return x + 128.0 if level_shift else x


def decompress(coefficients, quant_table, level_shift=True):
    """keras.ops: (B, H, W[, 1]) coefficients (H, W static) + (B, 8, 8) or (8, 8) tables
    -> (B, H, W, 1) float32."""
    c = ops.cast(coefficients, "float32")
    if len(c.shape) == 4:
        c = c[..., 0]
    q = ops.cast(quant_table, "float32")
    if len(q.shape) == 2:
        q = q[None]
    h, w = int(c.shape[1]), int(c.shape[2])
    blocks = ops.reshape(c, (-1, h // 8, 8, w // 8, 8)) * q[:, None, :, None, :]
    d = ops.convert_to_tensor(idct_matrix().astype(np.float32))
    x = ops.reshape(ops.einsum("km,bikjl,ln->bimjn", d, blocks, d), (-1, h, w, 1))
    return x + 128.0 if level_shift else x


def decompress_tf(coefficients, quant_table, level_shift=True):
    """TensorFlow: (B, H, W) coefficients (any H, W) + (B, 8, 8) or (8, 8) tables ->
    (B, H, W, 1) float32; the sums of `decompress`, for tf.data and SavedModel graphs."""
    import tensorflow as tf
    c = tf.cast(coefficients, tf.float32)
    if c.shape.rank == 4:
        c = c[..., 0]
    q = tf.cast(quant_table, tf.float32)
    if q.shape.rank == 2:
        q = q[None]
    shape = tf.shape(c)
    b, h, w = shape[0], shape[1], shape[2]
    blocks = tf.reshape(c, [b, h // 8, 8, w // 8, 8]) * q[:, None, :, None, :]
    d = tf.constant(idct_matrix(), tf.float32)
    x = tf.reshape(tf.einsum("km,bikjl,ln->bimjn", d, blocks, d), [b, h, w, 1])
    return x + 128.0 if level_shift else x


@keras.saving.register_keras_serializable(package="kerastego")
class JpegDecompress(FrozenLayer):
    """[coefficients (B, H, W[, 1]), quant_table (B, 8, 8) or (8, 8)] -> (B, H, W, 1) float32.

    Coefficients are in jpegio's layout: the block at (i, j) occupies rows 8i..8i+7 and
    columns 8j..8j+7, with [k, l] the (row, column) frequency. level_shift adds 128
    (pixel range, like libjpeg / conseal.tools.decompress_channel).
    """

    def __init__(self, level_shift=True, **kwargs):
        super().__init__(**kwargs)
        self.level_shift = bool(level_shift)

    def call(self, inputs):
        coefficients, quant_table = inputs
        return decompress(coefficients, quant_table, self.level_shift)

    def compute_output_shape(self, input_shapes):
        cshape = input_shapes[0]
        return (cshape[0], cshape[1], cshape[2], 1)

    def get_config(self):
        return {**super().get_config(), "level_shift": self.level_shift}
