"""A convolution with few filters, computed two output columns per window.

Why: the hybrid's subnets open with a 5x5 stride-2 convolution to 8 channels, the
largest cost of its training step. On the CPU, 8 output channels fill half of an
AVX-512 register: oneDNN takes 1.1x the time for 16 filters that it takes for 8 (25
input channels at 256x256, measured). Output columns 2j and 2j+1 of a convolution with
kernel K (width k) and column stride s are one window of width k + s at stride 2s of a
convolution with 2F filters, [K, then K shifted s columns right], with zeros where one
does not reach. Its NHWC output, (H, W/2, 2F), is in memory the layer's (H, W, F): a
reshape, no copy. 1.4x the multiply-adds, 1.35x faster forward and filter gradient
(2-core AVX-512 CPU, 2026-11-24: 23.6 ms against 32 for the hybrid's conv1 at batch 16).
The sums are the convolution's own, zeros added.
"""
import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="kerastego")
class ColumnPairConv2D(keras.layers.Conv2D):
    """keras.layers.Conv2D with the same weights and config, computed as column pairs
    where it can be: "valid" padding, no dilation or groups, channels last, and an even
    number of output columns (otherwise it is a plain Conv2D)."""

    def _pairs(self, inputs):
        width = inputs.shape[2]
        if (self.padding != "valid" or self.data_format != "channels_last" or self.groups != 1
                or tuple(self.dilation_rate) != (1, 1) or width is None):
            return False
        out = (width - self.kernel_size[1]) // self.strides[1] + 1
        return out > 0 and out % 2 == 0

    def convolution_op(self, inputs, kernel):
        if not self._pairs(inputs):
            return super().convolution_op(inputs, kernel)
        s = self.strides[1]
        kernel = tf.cast(kernel, inputs.dtype)
        wide = tf.concat([tf.pad(kernel, [[0, 0], [0, s], [0, 0], [0, 0]]),
                          tf.pad(kernel, [[0, 0], [s, 0], [0, 0], [0, 0]])], axis=-1)
        y = tf.nn.conv2d(inputs, wide, strides=[1, self.strides[0], 2 * s, 1], padding="VALID")
        return tf.reshape(y, [-1, y.shape[1], 2 * y.shape[2], self.filters])
