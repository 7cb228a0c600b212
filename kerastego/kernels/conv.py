"""1x1 convolutions computed around oneDNN's 1x1 convolution kernels (TensorFlow, CPU);
same weights and config as keras.layers.Conv2D, whose computation they replace at run
time (kerastego.kernels.cpu) and into which saving turns them back.

PointwiseConv2D (stride 1) is one matmul over the pixels: faster gradients (its docstring).

PointwiseStridedConv2D is a 1x1 convolution with a stride as sampling, then a stride-1
convolution. Why: in TensorFlow 2.21 the oneDNN CPU kernel for the filter gradient of a 1x1 stride-2
"same" convolution corrupts the heap when it has fewer than 16 input channels and an
input of 128x128 or more (found on CALPA-SRNet's L9 shortcut, 14 -> 19 channels at
128x128: "malloc(): unaligned tcache chunk detected"; 16 channels run fine). A 1x1
kernel reads one pixel per output, the one at (s*i, s*j) with no padding for either
padding mode, so x[:, ::s, ::s] convolved with stride 1 is the same convolution (outputs
and gradients bit-identical on even sizes, to float rounding on odd ones: tested), and it
avoids the broken kernel.
"""
import keras
import tensorflow as tf


def plain_layout(conv):
    """Whether a Conv2D has no dilation and no groups and is channels last: the layout in
    which the kerastego subclasses compute it another way (else they are a plain Conv2D)."""
    return tuple(conv.dilation_rate) == (1, 1) and conv.groups == 1 and conv.data_format == "channels_last"


class PointwiseStridedConv2D(keras.layers.Conv2D):
    """keras.layers.Conv2D; a 1x1 kernel with strides runs as sample + stride-1 conv."""
    stock_class = keras.layers.Conv2D

    def _sampled(self):
        return (tuple(self.kernel_size) == (1, 1) and tuple(self.strides) != (1, 1)
                and tuple(self.dilation_rate) == (1, 1) and self.data_format == "channels_last")

    def convolution_op(self, inputs, kernel):
        if not self._sampled():
            return super().convolution_op(inputs, kernel)
        sampled = inputs[:, ::self.strides[0], ::self.strides[1], :]
        return tf.nn.conv2d(sampled, tf.cast(kernel, sampled.dtype), strides=1, padding="VALID")


class PointwiseConv2D(keras.layers.Conv2D):
    """keras.layers.Conv2D; a 1x1 stride-1 kernel runs as one matmul over all pixels.

    Why: a 1x1 convolution is a (pixels x in) @ (in x out) product, and oneDNN's matmul
    beats its 1x1 convolution on the gradients (the hybrid Type1's conv3, 32 -> 128 at
    64x64: docs/decisions/0001-cpu-kernels.md). The same sums in another order: float
    rounding (tested).
    """
    stock_class = keras.layers.Conv2D

    def _as_matmul(self):
        return tuple(self.kernel_size) == (1, 1) and tuple(self.strides) == (1, 1) and plain_layout(self)

    def convolution_op(self, inputs, kernel):
        if not self._as_matmul():
            return super().convolution_op(inputs, kernel)
        channels = inputs.shape[-1]
        y = tf.matmul(tf.reshape(inputs, [-1, channels]),
                      tf.reshape(tf.cast(kernel, inputs.dtype), [channels, self.filters]))
        return tf.reshape(y, tf.concat([tf.shape(inputs)[:-1], [self.filters]], axis=0))
