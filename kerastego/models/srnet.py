"""SRNet (Boroumand, Chen, Fridrich) as used by CALPA-NET.

`widths` lets CALPA rebuild the same topology with fewer channels; the default is
the original network. Layer names are stable (L<n>_...) so pruning reports and
the published CALPA rates can refer to them.
"""
import keras
from keras import layers

from kerastego.conventions import FLOAT32, LEVEL_SHIFT
from kerastego.models.inputs import model_inputs

BN_MOMENTUM = 0.9
TYPE3_WIDTHS = {8: 16, 9: 64, 10: 128, 11: 256}


def default_widths():
    """Output channels per conv layer name for the original SRNet."""
    w = {"L1_conv": 64, "L2_conv": 16}
    for n in range(3, 8):
        w[f"L{n}_conv1"] = 16
        w[f"L{n}_conv2"] = 16
    for n, c in TYPE3_WIDTHS.items():
        w[f"L{n}_conv1"] = c
        w[f"L{n}_conv2"] = c
        w[f"L{n}_short"] = c
    w["L12_conv1"] = 512
    w["L12_conv2"] = 512
    return w


def _conv(filters, name, size=3, strides=1, dtype=None):
    return layers.Conv2D(filters, size, strides=strides, padding="same", kernel_initializer="variance_scaling",
                bias_initializer=keras.initializers.Constant(0.2),
                kernel_regularizer=keras.regularizers.L2(2e-4), name=name, dtype=dtype)


def _bn(name, dtype=None):
    return layers.BatchNormalization(momentum=BN_MOMENTUM, name=name, dtype=dtype)


def _conv_bn(x, filters, name, relu=True, size=3, strides=1, dtype=None):
    """conv -> BN (-> ReLU); dtype float32 pins the block's precision under any policy."""
    x = _bn(f"{name}_bn", dtype)(_conv(filters, name, size, strides, dtype)(x))
    return layers.ReLU(name=f"{name}_relu", dtype=dtype)(x) if relu else x


def build_srnet(input_shape=(256, 256, 1), widths=None, input_kind="coefficients", name="srnet"):
    """Build SRNet; `widths` overrides output channels per conv name (see default_widths)."""
    w = default_widths()
    if widths:
        unknown = set(widths) - set(w)
        if unknown:
            raise ValueError(f"build_srnet: unknown layer names in widths: {sorted(unknown)}")
        w.update({k: int(v) for k, v in widths.items()})
    if w["L2_conv"] != w["L3_conv2"] or len({w[f"L{n}_conv2"] for n in range(3, 8)}) != 1:
        raise ValueError("build_srnet: L2_conv and L3..L7 conv2 are tied by shortcuts and need one width")
    for n in TYPE3_WIDTHS:
        if w[f"L{n}_conv2"] != w[f"L{n}_short"]:
            raise ValueError(f"build_srnet: L{n}_conv2 and L{n}_short are added together and need one width")

    inputs, x = model_inputs(input_shape, input_kind, LEVEL_SHIFT["srnet"])
    x = _conv_bn(x, w["L1_conv"], "L1_conv", dtype=FLOAT32)   # the raw image: float32 (conventions.FLOAT32)
    x = _conv_bn(x, w["L2_conv"], "L2_conv")
    for n in range(3, 8):   # type 2: direct shortcut
        y = _conv_bn(x, w[f"L{n}_conv1"], f"L{n}_conv1")
        y = _conv_bn(y, w[f"L{n}_conv2"], f"L{n}_conv2", relu=False)
        x = layers.Add(name=f"L{n}_add")([x, y])
    for n in TYPE3_WIDTHS:  # type 3: transformed shortcut
        s = _conv_bn(x, w[f"L{n}_short"], f"L{n}_short", relu=False, size=1, strides=2)
        y = _conv_bn(x, w[f"L{n}_conv1"], f"L{n}_conv1")
        y = _conv_bn(y, w[f"L{n}_conv2"], f"L{n}_conv2", relu=False)
        y = layers.AveragePooling2D(3, 2, padding="same", name=f"L{n}_pool")(y)
        x = layers.Add(name=f"L{n}_add")([s, y])
    x = _conv_bn(x, w["L12_conv1"], "L12_conv1")
    x = _conv_bn(x, w["L12_conv2"], "L12_conv2", relu=False)
    x = layers.GlobalAveragePooling2D(name="L12_gap")(x)
    out = layers.Dense(2, activation="softmax", kernel_initializer=keras.initializers.RandomNormal(stddev=0.01),
                       bias_initializer="zeros", name="probabilities", dtype=FLOAT32)(x)
    return keras.Model(inputs, out, name=name)
