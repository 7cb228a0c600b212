"""The CPU rewrite: a model's stock layers swapped for TensorFlow computations that
oneDNN runs faster on CPUs, with the same weights, configs, outputs and gradients.

The trainer and the benchmarks apply it when they run under the TensorFlow backend on
CPUs only (`wanted`); `stock` undoes it, and every save goes through `stock`, so no
saved model, architecture file or export holds these classes. The swaps, by layer:

- Conv2D 1x1 with strides -> PointwiseStridedConv2D: sampling, then a stride-1 1x1
  convolution. Why: TensorFlow 2.21's oneDNN filter gradient of a 1x1 stride-2 "same"
  convolution corrupts the heap with fewer than 16 input channels at 128x128 or more
  (CALPA-SRNet's L9 shortcut: "malloc(): unaligned tcache chunk detected").
- Conv2D 1x1 stride 1 -> PointwiseConv2D: one matmul over the pixels.
- Conv2D "valid" with at most 8 filters -> ColumnPairConv2D (the hybrid's conv1).
- Conv2D stride-1 "same" reading 2-8 channels -> PairedInputGradConv2D (the hybrid's conv2).
- BatchNormalization -> FusedBatchNormalization.
- CaffeAvgPool2D -> CpuCaffeAvgPool2D; QuantizeTruncate -> FusedQuantizeTruncate.
Figures: docs/decisions/0001-cpu-kernels.md.
"""
import keras

from kerastego.kernels.conv import PointwiseConv2D, PointwiseStridedConv2D, plain_layout
from kerastego.kernels.normalization import FusedBatchNormalization
from kerastego.kernels.paired_conv import ColumnPairConv2D, PairedInputGradConv2D
from kerastego.kernels.pool import CpuCaffeAvgPool2D
from kerastego.kernels.quantize import FusedQuantizeTruncate
from kerastego.layers import CaffeAvgPool2D, QuantizeTruncate

FEW_CHANNELS = 8      # half an AVX-512 register of float32 or less: oneDNN leaves half of it idle
KERNEL_CLASSES = (PointwiseConv2D, PointwiseStridedConv2D, ColumnPairConv2D, PairedInputGradConv2D,
                  FusedBatchNormalization, CpuCaffeAvgPool2D, FusedQuantizeTruncate)


def wanted():
    """True under the TensorFlow backend with no GPU visible: where the rewrite pays."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf
    return not tf.config.list_logical_devices("GPU")


def conv_kernel(layer):
    """The CPU class for one stock Conv2D, or None to keep it."""
    kernel, strides = tuple(layer.kernel_size), tuple(layer.strides)
    if kernel == (1, 1) and strides != (1, 1) and layer.data_format == "channels_last":
        return PointwiseStridedConv2D
    if not plain_layout(layer):
        return None
    if kernel == (1, 1):
        return PointwiseConv2D
    if layer.padding == "valid" and layer.filters <= FEW_CHANNELS:
        return ColumnPairConv2D
    if (layer.padding == "same" and strides == (1, 1) and all(k % 2 for k in kernel)
            and 1 < layer.kernel.shape[2] <= FEW_CHANNELS):
        return PairedInputGradConv2D
    return None


_EXACT = {keras.layers.BatchNormalization: FusedBatchNormalization, CaffeAvgPool2D: CpuCaffeAvgPool2D,
          QuantizeTruncate: FusedQuantizeTruncate}


def kernel_class(layer):
    """The CPU class that computes `layer` (exactly a stock class, not a subclass), or None."""
    if type(layer) is keras.layers.Conv2D:
        return conv_kernel(layer)
    return _EXACT.get(type(layer))


def _swapped(model, choose):
    """A clone of the functional `model` whose layers are `choose(layer)` classes where it
    names one, from the same configs, with the same weights."""
    def clone(layer):
        cls = choose(layer)
        return layer if cls is None and isinstance(layer, keras.Model) else (cls or type(layer)).from_config(
            layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy


def rewrite(model):
    """`model` with its stock layers computed by the CPU classes; `model` itself when
    none applies."""
    if not any(kernel_class(layer) for layer in model.layers):
        return model
    return _swapped(model, kernel_class)


def stock(model):
    """`model` with every CPU class turned back into its stock layer (what is saved);
    `model` itself when it holds none."""
    if not any(isinstance(layer, KERNEL_CLASSES) for layer in model.layers):
        return model
    return _swapped(model, lambda layer: getattr(layer, "stock_class", None))
