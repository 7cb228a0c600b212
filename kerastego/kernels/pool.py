"""Caffe average pooling as TensorFlow's CPU kernels run it fastest: a run-time
replacement of kerastego.layers.CaffeAvgPool2D (kerastego.kernels.cpu), same config,
turned back into it when saved.

- Where TF's SAME windows are Caffe's (the hybrid's pools at 256 and 512), it pools
  without a padded copy and rescales the border windows: the padding and its gradient's
  slice cost as much as the pooling itself.
- Where windows overlap by half or more (the hybrid's pool2), the gradient spreads each
  window's share with a transposed depthwise convolution, faster than oneDNN's
  AvgPoolGrad there (float32 only: in bfloat16 the transpose is the slower).
- rectify=True where the windows tile the input (the hybrid Type1's pool3): the ReLU's
  and the pooling's gradients in one XLA pass.
Figures: docs/decisions/0001-cpu-kernels.md.
"""
import functools

import numpy as np
import tensorflow as tf

from kerastego.layers import CaffeAvgPool2D, caffe_pool_geometry


def same_pool_starts(size, kernel, stride):
    """Where each of TF's SAME pooling windows starts along one axis (below 0: in the
    padding TF adds before)."""
    out = -(-size // stride)
    return np.arange(out) * stride - max((out - 1) * stride + kernel - size, 0) // 2


def same_pool_counts(size, kernel, stride):
    """In-image elements of each of TF's SAME pooling windows along one axis (what its
    average divides by)."""
    starts = same_pool_starts(size, kernel, stride)
    return (np.minimum(starts + kernel, size) - np.maximum(starts, 0)).astype(np.float32)


def same_pool_rescale(size, kernel, stride, pad):
    """Per-window factors turning TF's SAME average (over the window's in-image
    elements) into Caffe's, or None when TF's SAME windows are not Caffe's."""
    out, divisor = caffe_pool_geometry(size, kernel, stride, pad)
    starts = same_pool_starts(size, kernel, stride)
    if len(starts) != out or -starts[0] != pad:
        return None
    return (same_pool_counts(size, kernel, stride) / divisor).astype(np.float32)


def same_avg_pool_spread_gradient(x, k, s, inverse_counts):
    """tf.nn.avg_pool2d(x, k, s, "SAME"), whose gradient spreads each window's share with
    the transposed depthwise convolution of a ones kernel instead of AvgPoolGrad.
    inverse_counts: 1 / same_pool_counts, as [1, out_h, out_w, 1]."""
    @tf.custom_gradient
    def pool(x):
        def spread(dy):
            ones = tf.ones([k, k, x.shape[-1], 1], dy.dtype)
            return tf.nn.depthwise_conv2d_backprop_input(tf.shape(x), ones, dy * tf.cast(inverse_counts, dy.dtype),
                                                         [1, s, s, 1], "SAME")
        return tf.nn.avg_pool2d(x, k, s, "SAME"), spread
    return pool(x)


@functools.lru_cache(maxsize=None)
def _rectified_tile_gradient(k):
    """The gradient of avg_pool(relu(x)) over k x k tiles, from relu(x) and the pooled
    gradient, as one XLA pass (kept off the layer, so no SavedModel can see it)."""
    def gradient(z, g):
        _, h, w, c = z.shape
        tiles = tf.reshape(z, [-1, h // k, k, w // k, k, c])
        g = tf.reshape(g, [-1, h // k, 1, w // k, 1, c]) / tf.cast(k * k, g.dtype)
        return tf.reshape(tf.where(tiles > 0, g, tf.zeros_like(g)), tf.shape(z))
    return tf.function(gradient, jit_compile=True, autograph=False)


def rectified_tile_pool(x, k):
    """avg_pool(relu(x)) over k x k tiles (no overlap, no border); its gradient is one
    pass instead of the pooling gradient's broadcast then ReLU's mask."""
    @tf.custom_gradient
    def pool(x):
        z = tf.nn.relu(x)
        return tf.nn.avg_pool2d(z, k, k, "VALID"), lambda g: _rectified_tile_gradient(k)(z, g)
    return pool(x)


class CpuCaffeAvgPool2D(CaffeAvgPool2D):
    """CaffeAvgPool2D (same config and outputs) computed with TF's SAME pooling where it
    can be, and with the faster gradients in training (module docstring)."""
    stock_class = CaffeAvgPool2D

    def build(self, input_shape):
        super().build(input_shape)
        _, h, w, _ = input_shape
        k, s = self.pool_size, self.strides
        scale = [same_pool_rescale(n, k, s, self.pad) for n in (h, w)]
        self._same_scale = None if any(f is None for f in scale) else np.outer(*scale)[None, :, :, None]
        self._tiles = s == k and self.pad == 0 and h % k == 0 and w % k == 0
        counts = np.outer(same_pool_counts(h, k, s), same_pool_counts(w, k, s))
        self._inverse_counts = (1.0 / counts)[None, :, :, None].astype(np.float32)

    def call(self, x, training=None):
        if self._same_scale is None:
            return super().call(x)
        if self.rectify:
            if training and self._tiles:
                return rectified_tile_pool(x, self.pool_size)
            x = tf.nn.relu(x)
        k, s = self.pool_size, self.strides
        if training and k >= 2 * s and x.dtype == tf.float32:
            y = same_avg_pool_spread_gradient(x, k, s, self._inverse_counts)
        else:
            y = tf.nn.avg_pool2d(x, k, s, "SAME")
        return y if np.all(self._same_scale == 1) else y * tf.constant(self._same_scale, x.dtype)
