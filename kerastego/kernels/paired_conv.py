"""Convolutions with few channels, computed two output columns per window (TensorFlow,
CPU): run-time replacements of keras.layers.Conv2D (kerastego.kernels.cpu), same weights
and config, turned back into Conv2D when saved.

ColumnPairConv2D pairs a convolution's output columns (few filters);
PairedInputGradConv2D pairs its input gradient's (few input channels).

Why: the hybrid's subnets open with a 5x5 stride-2 convolution to 8 channels, the
largest cost of its training step. On the CPU, 8 output channels fill half of an
AVX-512 register: oneDNN takes 1.1x the time for 16 filters that it takes for 8 (25
input channels at 256x256). Output columns 2j and 2j+1 of a convolution with
kernel K (width k) and column stride s are one window of width k + s at stride 2s of a
convolution with 2F filters, [K, then K shifted s columns right], with zeros where one
does not reach. Its NHWC output, (H, W/2, 2F), is in memory the layer's (H, W, F): a
reshape, no copy. 1.4x the multiply-adds, and faster forward and filter gradient
(docs/decisions/0001-cpu-kernels.md). The sums are the convolution's own, zeros added.
"""
import keras
import tensorflow as tf

from kerastego.kernels.conv import plain_layout


def column_pair_kernel(kernel, shift):
    """[K, then K shifted `shift` columns right] as one kernel of width k + shift and
    twice the filters: two output columns per window, zeros where one does not reach."""
    return tf.concat([tf.pad(kernel, [[0, 0], [0, shift], [0, 0], [0, 0]]),
                      tf.pad(kernel, [[0, 0], [shift, 0], [0, 0], [0, 0]])], axis=-1)


class ColumnPairConv2D(keras.layers.Conv2D):
    """keras.layers.Conv2D with the same weights and config, computed as column pairs
    where it can be: "valid" padding, no dilation or groups, channels last, and an even
    number of output columns (otherwise it is a plain Conv2D)."""
    stock_class = keras.layers.Conv2D

    def _pairs(self, inputs):
        width = inputs.shape[2]
        if self.padding != "valid" or not plain_layout(self) or width is None:
            return False
        out = (width - self.kernel_size[1]) // self.strides[1] + 1
        return out > 0 and out % 2 == 0

    def convolution_op(self, inputs, kernel):
        if not self._pairs(inputs):
            return super().convolution_op(inputs, kernel)
        s = self.strides[1]
        wide = column_pair_kernel(tf.cast(kernel, inputs.dtype), s)
        y = tf.nn.conv2d(inputs, wide, strides=[1, self.strides[0], 2 * s, 1], padding="VALID")
        return tf.reshape(y, [-1, y.shape[1], 2 * y.shape[2], self.filters])


def paired_input_gradient(dy, kernel):
    """The input gradient of a stride-1 "same" convolution (odd kernel) from its output
    gradient dy: the convolution of dy with the flipped, transposed kernel, computed two
    output columns per window (as ColumnPairConv2D). dy's width must be even."""
    kh, kw = kernel.shape[0], kernel.shape[1]
    wide = column_pair_kernel(tf.transpose(kernel[::-1, ::-1], (0, 1, 3, 2)), 1)
    ph, pw = (kh - 1) // 2, (kw - 1) // 2
    dy = tf.pad(dy, [[0, 0], [ph, ph], [pw, pw + 1], [0, 0]])   # one more column: W/2 windows
    dx = tf.nn.conv2d(dy, wide, strides=[1, 1, 2, 1], padding="VALID")
    return tf.reshape(dx, [-1, dx.shape[1], 2 * dx.shape[2], kernel.shape[2]])


class PairedInputGradConv2D(keras.layers.Conv2D):
    """keras.layers.Conv2D with the same weights and config; a stride-1 "same"
    convolution whose input gradient is computed two columns at a time.

    Why: the input gradient has the input's channels. The hybrid's conv2 reads 8 (3x3,
    8 -> 32 at 128x128), so oneDNN's input gradient fills half a register and takes twice
    the forward's time; as column pairs (16 channels, 1.33x the multiply-adds) it is
    faster (docs/decisions/0001-cpu-kernels.md). The forward and the filter gradient are
    TensorFlow's own. Elsewhere (strides, "valid", even kernels, odd widths) it is a
    plain Conv2D.
    """
    stock_class = keras.layers.Conv2D

    def _pairs_gradient(self, inputs):
        return (self.padding == "same" and tuple(self.strides) == (1, 1) and plain_layout(self)
                and all(k % 2 == 1 for k in self.kernel_size) and inputs.shape[2] is not None
                and inputs.shape[2] % 2 == 0)

    def convolution_op(self, inputs, kernel):
        if not self._pairs_gradient(inputs):
            return super().convolution_op(inputs, kernel)

        @tf.custom_gradient
        def conv(x, k):
            def grad(dy):
                dk = tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=tf.shape(k), out_backprop=dy,
                                                     strides=[1, 1, 1, 1], padding="SAME")
                return paired_input_gradient(dy, k), dk
            return tf.nn.conv2d(x, k, strides=1, padding="SAME"), grad

        return conv(inputs, tf.cast(kernel, inputs.dtype))
