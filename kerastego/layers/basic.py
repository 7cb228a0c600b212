"""Small element-wise and pooling layers the models need."""
import functools
import math

import numpy as np
import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="kerastego")
class Abs(keras.layers.Layer):
    """|x| (Caffe's AbsVal): sign-symmetric residual features."""

    def call(self, x):
        return tf.abs(x)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="kerastego")
class Truncate(keras.layers.Layer):
    """clip(x, -T, T), XuNet2's truncation after its DCT stage."""

    def __init__(self, threshold=8.0, **kwargs):
        super().__init__(**kwargs)
        self.threshold = float(threshold)

    def call(self, x):
        return tf.clip_by_value(x, -self.threshold, self.threshold)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(threshold=self.threshold)
        return config


def caffe_pool_geometry(size, kernel, stride, pad):
    """Output length and per-window divisors of Caffe's AVE pooling along one axis.

    Caffe rounds the output size up (ceil mode), drops a last window that would
    start in the padding, and divides by the window clipped to [-pad, size + pad).
    An input smaller than the window gives one output (a global average), not zero.
    """
    out = max(int(math.ceil((size + 2 * pad - kernel) / stride)) + 1, 1)  # >= 1 on tiny inputs
    if out > 1 and pad > 0 and (out - 1) * stride >= size + pad:
        out -= 1
    starts = np.arange(out) * stride - pad
    ends = np.minimum(starts + kernel, size + pad)
    return out, (ends - starts).astype(np.float32)


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

    Why: where windows overlap by half or more (the hybrid's pool2, 5x5 stride 2, 32
    channels at 128x128, batch 16), oneDNN's AvgPoolGrad takes 5.5-6 ms and the depthwise
    transpose 3.3-3.9 (2-core AVX-512 CPU, 2026-11-24); at stride 4 AvgPoolGrad is the
    faster, and in bfloat16 the depthwise transpose is over 10x slower than in float32.
    inverse_counts: 1 / same_pool_counts, as [1, out_h, out_w, 1].
    """
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
    gradient, as one XLA pass (kept off the layer, as Q&T's, so SavedModels never see it)."""
    def gradient(z, g):
        _, h, w, c = z.shape
        tiles = tf.reshape(z, [-1, h // k, k, w // k, k, c])
        g = tf.reshape(g, [-1, h // k, 1, w // k, 1, c]) / tf.cast(k * k, g.dtype)
        return tf.reshape(tf.where(tiles > 0, g, tf.zeros_like(g)), tf.shape(z))
    return tf.function(gradient, jit_compile=True, autograph=False)


def rectified_tile_pool(x, k):
    """avg_pool(relu(x)) over k x k tiles (no overlap, no border); in training its gradient
    is one pass instead of the pooling gradient's broadcast then ReLU's mask."""
    @tf.custom_gradient
    def pool(x):
        z = tf.nn.relu(x)
        return tf.nn.avg_pool2d(z, k, k, "VALID"), lambda g: _rectified_tile_gradient(k)(z, g)
    return pool(x)


@keras.saving.register_keras_serializable(package="kerastego")
class CaffeAvgPool2D(keras.layers.Layer):
    """Average pooling with Caffe's exact output size and divisors.

    Keras pooling rounds output sizes down and divides differently at borders;
    the released hybrid models were trained with Caffe's rules, which keep
    2x2x128 features per subnet at 256x256.

    rectify=True pools max(x, 0): a ReLU and the pooling as one layer. Where the windows
    tile the input (the hybrid Type1's pool3: 32x32 tiles of 64x64), training computes
    both gradients in one XLA pass, 3% of the hybrid's step on the CPU (2026-11-24).
    """

    def __init__(self, pool_size, strides, pad=0, rectify=False, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = int(pool_size)
        self.strides = int(strides)
        self.pad = int(pad)
        self.rectify = bool(rectify)

    def build(self, input_shape):
        _, h, w, _ = input_shape
        if h is None or w is None:
            raise ValueError("CaffeAvgPool2D needs a static spatial input size")
        self._geom = [caffe_pool_geometry(s, self.pool_size, self.strides, self.pad) for s in (h, w)]
        # Where TF's SAME windows are Caffe's (the hybrid's pools at 256 and 512), pool
        # without a padded copy and rescale: the padding and its gradient's slice cost
        # as much as the pooling itself.
        scale = [same_pool_rescale(s, self.pool_size, self.strides, self.pad) for s in (h, w)]
        self._same_scale = None if any(f is None for f in scale) else np.outer(*scale)[None, :, :, None]
        k = self.pool_size
        self._tiles = self.strides == k and self.pad == 0 and h % k == 0 and w % k == 0
        counts = np.outer(same_pool_counts(h, k, self.strides), same_pool_counts(w, k, self.strides))
        self._inverse_counts = (1.0 / counts)[None, :, :, None].astype(np.float32)

    def _padding(self, size, out):
        # Zero rows before (Caffe pad) and after, so every window lies in the tensor.
        after = (out - 1) * self.strides + self.pool_size - size - self.pad
        return self.pad, after

    def call(self, x, training=None):
        if self.rectify:
            if training and self._tiles:
                return rectified_tile_pool(x, self.pool_size)
            x = tf.nn.relu(x)
        if self._same_scale is not None:
            if training and self.pool_size >= 2 * self.strides and x.dtype == tf.float32:   # see its docstring
                y = same_avg_pool_spread_gradient(x, self.pool_size, self.strides, self._inverse_counts)
            else:
                y = tf.nn.avg_pool2d(x, self.pool_size, self.strides, "SAME")
            return y if np.all(self._same_scale == 1) else y * tf.constant(self._same_scale, x.dtype)
        _, h, w, _ = x.shape
        (oh, dh), (ow, dw) = self._geom
        ph, pw = self._padding(h, oh), self._padding(w, ow)
        if min(ph[1], pw[1]) < 0:  # window ends before the tensor does: crop instead
            x = x[:, : h + min(ph[1], 0), : w + min(pw[1], 0), :]
            ph, pw = (ph[0], max(ph[1], 0)), (pw[0], max(pw[1], 0))
        x = tf.pad(x, [[0, 0], list(ph), list(pw), [0, 0]])
        k = self.pool_size
        total = tf.nn.avg_pool2d(x, k, self.strides, "VALID") * float(k * k)
        divisor = tf.constant(np.outer(dh, dw)[None, :, :, None], x.dtype)
        return total / divisor

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        oh = caffe_pool_geometry(h, self.pool_size, self.strides, self.pad)[0]
        ow = caffe_pool_geometry(w, self.pool_size, self.strides, self.pad)[0]
        return (b, oh, ow, c)

    def get_config(self):
        config = super().get_config()
        config.update(pool_size=self.pool_size, strides=self.strides, pad=self.pad, rectify=self.rectify)
        return config


class FrozenLayer(keras.layers.Layer):
    """A layer with nothing to train: never trainable, whatever a config or
    `model.trainable = True` says; shape-preserving unless a subclass says otherwise."""

    def __init__(self, **kwargs):
        kwargs.pop("trainable", None)
        super().__init__(trainable=False, **kwargs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.pop("trainable", None)
        return config


@keras.saving.register_keras_serializable(package="kerastego")
class LevelShift(FrozenLayer):
    """x + offset, frozen. A spatial ("image") input is always in pixel range (with
    JPEG's +128); a family whose authors fed unshifted images (the hybrid) starts
    with LevelShift(-128) so one image convention serves every model."""

    def __init__(self, offset=-128.0, **kwargs):
        super().__init__(**kwargs)
        self.offset = float(offset)

    def call(self, x):
        return x + tf.cast(self.offset, x.dtype)

    def get_config(self):
        return {**super().get_config(), "offset": self.offset}
