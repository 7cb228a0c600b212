"""Small element-wise and pooling layers the models need, in `keras.ops` (every backend)."""
import math

import numpy as np
import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerastego")
class Abs(keras.layers.Layer):
    """|x| (Caffe's AbsVal): sign-symmetric residual features."""

    def call(self, x):
        return ops.abs(x)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="kerastego")
class Truncate(keras.layers.Layer):
    """clip(x, -T, T), XuNet2's truncation after its DCT stage."""

    def __init__(self, threshold=8.0, **kwargs):
        super().__init__(**kwargs)
        self.threshold = float(threshold)

    def call(self, x):
        return ops.clip(x, -self.threshold, self.threshold)

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


def caffe_pool_padding(size, kernel, stride, pad):
    """(before, after) rows of zeros that put every Caffe window inside the tensor; a
    negative `after` is a crop (the last window ends before the tensor does)."""
    out = caffe_pool_geometry(size, kernel, stride, pad)[0]
    return pad, (out - 1) * stride + kernel - size - pad


@keras.saving.register_keras_serializable(package="kerastego")
class CaffeAvgPool2D(keras.layers.Layer):
    """Average pooling with Caffe's exact output size and divisors.

    Keras pooling rounds output sizes down and divides differently at borders;
    the released hybrid models were trained with Caffe's rules, which keep
    2x2x128 features per subnet at 256x256. Computed as zero padding, a "valid"
    window sum and Caffe's per-window divisors.

    rectify=True pools max(x, 0): a ReLU and the pooling as one layer (the hybrid
    Type1's conv3 ReLU, which the CPU kernels train in one pass with the pooling).
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
        k, s, p = self.pool_size, self.strides, self.pad
        self._padding = [caffe_pool_padding(n, k, s, p) for n in (h, w)]
        (_, dh), (_, dw) = (caffe_pool_geometry(n, k, s, p) for n in (h, w))
        self._divisor = (np.outer(dh, dw)[None, :, :, None] / float(k * k)).astype(np.float32)

    def call(self, x):
        if self.rectify:
            x = ops.relu(x)
        (top, bottom), (left, right) = self._padding
        x = x[:, : x.shape[1] + min(bottom, 0), : x.shape[2] + min(right, 0), :]
        if max(top, bottom, left, right) > 0:
            x = ops.pad(x, [[0, 0], [top, max(bottom, 0)], [left, max(right, 0)], [0, 0]])
        mean = ops.average_pool(x, self.pool_size, self.strides, padding="valid")
        if np.all(self._divisor == 1):
            return mean
        return mean / ops.cast(self._divisor, mean.dtype)

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
        return x + ops.cast(self.offset, x.dtype)

    def get_config(self):
        return {**super().get_config(), "offset": self.offset}
