"""The hybrid deep-learning framework (Zeng, Tan, Li, Huang): a frozen DCT + Q&T
stage feeding parallel CNN subnets and a fully-connected head.

Layer shapes follow the authors' released Caffe definitions, including Caffe's
ceil-mode pooling (CaffeAvgPool2D) and symmetric convolution padding.
"""
import keras
from keras import layers

from kerastego.conventions import FLOAT32, LEVEL_SHIFT
from kerastego.layers import Abs, CaffeAvgPool2D, DCTConv, QuantizeTruncate
from kerastego.models.inputs import model_inputs

DEFAULT_QT = ((4, 1), (4, 2), (4, 4))   # (threshold T, step q), one subnet each
BN_MOMENTUM = 0.95                      # Caffe moving_average_fraction 0.05
BN_EPSILON = 1e-5                       # Caffe's default


def _conv(filters, size, name, strides=1):
    return layers.Conv2D(filters, size, strides=strides, padding="same" if strides == 1 else "valid",
                 use_bias=False, kernel_initializer=keras.initializers.RandomNormal(stddev=0.01), name=name)


def _bn(x, name):
    return layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"{name}_bn")(x)


def _bn_relu(x, name):
    return layers.ReLU(name=f"{name}_relu")(_bn(x, name))


FIRST_PAD = 2                           # Caffe pad of the subnets' first convolution


def _first_conv(x, prefix, first_stride, padded):
    # Caffe pad 2 on both sides (done by Q&T when `padded`), then stride 2 (or 4 at 512x512).
    if not padded:
        x = layers.ZeroPadding2D(FIRST_PAD, name=f"{prefix}_conv1_pad")(x)
    x = _conv(8, 5, f"{prefix}_conv1", strides=first_stride)(x)
    x = Abs(name=f"{prefix}_abs")(x)
    return _bn_relu(x, f"{prefix}_conv1")


def type1_subnet(x, prefix, first_stride=2, padded=False):
    """Type1: conv5x5/8 s2 -> ABS -> conv3x3/32 -> pool 5/2 -> conv1x1/128 -> pool 32/32
    (BatchNorm and ReLU after each convolution).
    padded: x already carries the first convolution's zero border (FIRST_PAD)."""
    x = _first_conv(x, prefix, first_stride, padded)
    x = _bn_relu(_conv(32, 3, f"{prefix}_conv2")(x), f"{prefix}_conv2")
    x = CaffeAvgPool2D(5, 2, pad=1, name=f"{prefix}_pool2")(x)
    x = _bn(_conv(128, 1, f"{prefix}_conv3")(x), f"{prefix}_conv3")
    # The ReLU is pool3's (rectify): the CPU kernels train both in one pass (kerastego.kernels).
    x = CaffeAvgPool2D(32, 32, pad=0, rectify=True, name=f"{prefix}_pool3")(x)
    return layers.Flatten(name=f"{prefix}_features")(x)


def type2_subnet(x, prefix, first_stride=2, padded=False):
    """Type2 (memory-efficient): progressive 5x5 stride-4 pooling after every conv."""
    x = _first_conv(x, prefix, first_stride, padded)
    x = CaffeAvgPool2D(5, 4, name=f"{prefix}_pool1")(x)
    x = _bn_relu(_conv(32, 3, f"{prefix}_conv2")(x), f"{prefix}_conv2")
    x = CaffeAvgPool2D(5, 4, name=f"{prefix}_pool2")(x)
    x = _bn_relu(_conv(128, 3, f"{prefix}_conv3")(x), f"{prefix}_conv3")
    x = CaffeAvgPool2D(5, 4, name=f"{prefix}_pool3")(x)
    return layers.Flatten(name=f"{prefix}_features")(x)


SUBNETS = {"type1": type1_subnet, "type2": type2_subnet}


def build_hybrid(input_shape=(256, 256, 1), subnet="type1", qt=DEFAULT_QT, kernel_size=5,
                 qt_mode="abs", fake_derivative=None, first_stride=None, head=(800, 400, 200),
                 weight_decay=5e-4, input_kind="coefficients", level_shift=LEVEL_SHIFT["hybrid"], name=None):
    """Build the hybrid framework.

    subnet: "type1", "type2", or a callable `f(x, prefix) -> flat features` (a subnet
      prototype, as the paper's Fig. 13 plugs in Xu's model); one per qt entry.
    qt: (threshold, step) per subnet; None for an entry means no Q&T on that branch,
      and threshold or step None drop that half (the paper's ablations).
    first_stride: 2 (default) or 4 for 512x512 inputs.
    weight_decay: Caffe-style L2 on the FC kernels (Caffe sets decay_mult 0 on convs).
    level_shift: the DCT stage sees the decompressed image without +128 by default, as
      in the authors' released spatial representations.
    """
    if isinstance(subnet, str):
        if subnet not in SUBNETS:
            raise ValueError(f"unknown subnet {subnet!r}; use one of {sorted(SUBNETS)} or a callable")
        stride = first_stride or (4 if input_shape[0] >= 512 else 2)
        fn = SUBNETS[subnet]
        make_subnet = lambda t, p, padded: fn(t, p, first_stride=stride, padded=padded)  # noqa: E731
        label, pad = subnet, FIRST_PAD
    elif callable(subnet):
        make_subnet = lambda t, p, padded: subnet(t, p)  # noqa: E731
        label, pad = getattr(subnet, "__name__", "custom"), 0   # a prototype pads for itself
    else:
        raise TypeError(f"subnet must be a name or a callable, got {type(subnet).__name__}")
    if not qt:
        raise ValueError("qt needs at least one (threshold, step) entry, or None for no Q&T")

    inputs, x = model_inputs(input_shape, input_kind, level_shift)
    residuals = DCTConv(kernel_size, name=f"dct{kernel_size}x{kernel_size}", dtype=FLOAT32)(x)
    features = []
    for i, entry in enumerate(qt):
        branch = residuals
        if entry is not None:
            threshold, step = entry
            # Q&T pads for the subnet's first conv: the padding then costs no pass of its own.
            branch = QuantizeTruncate(step=step, threshold=threshold, mode=qt_mode, fake_derivative=fake_derivative,
                                      pad=pad, name=f"qt{i}", dtype=FLOAT32)(residuals)
        features.append(make_subnet(branch, f"sub{i}", padded=entry is not None and pad > 0))
    x = features[0] if len(features) == 1 else layers.Concatenate(name="concat")(features)
    reg = keras.regularizers.L2(weight_decay / 2) if weight_decay else None
    for j, units in enumerate(head):
        x = layers.Dense(units, activation="relu", kernel_initializer="glorot_uniform",
                         kernel_regularizer=reg, name=f"fc{j + 1}")(x)
    out = layers.Dense(2, activation="softmax", kernel_regularizer=reg, name="probabilities", dtype=FLOAT32)(x)
    return keras.Model(inputs, out, name=name or f"hybrid_{label}")
