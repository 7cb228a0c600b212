"""A 1x1 convolution with a stride, computed as sampling then a stride-1 convolution.

Why: in TensorFlow 2.21 the oneDNN CPU kernel for the filter gradient of a 1x1 stride-2
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


@keras.saving.register_keras_serializable(package="kerastego")
class PointwiseStridedConv2D(keras.layers.Conv2D):
    """keras.layers.Conv2D; a 1x1 kernel with strides runs as sample + stride-1 conv."""

    def _sampled(self):
        return (tuple(self.kernel_size) == (1, 1) and tuple(self.strides) != (1, 1)
                and tuple(self.dilation_rate) == (1, 1) and self.data_format == "channels_last")

    def convolution_op(self, inputs, kernel):
        if not self._sampled():
            return super().convolution_op(inputs, kernel)
        sampled = inputs[:, ::self.strides[0], ::self.strides[1], :]
        return tf.nn.conv2d(sampled, tf.cast(kernel, sampled.dtype), strides=1, padding="VALID")
