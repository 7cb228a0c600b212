"""XuNet2 (Xu's 20-layer JPEG model) as used by CALPA-NET: a frozen 4x4 DCT stage,
|.| and truncation at 8, then five residual blocks."""
import keras
from keras import layers

from kerastego.layers import Abs, DCTConv, Truncate
from kerastego.conventions import FLOAT32, LEVEL_SHIFT
from kerastego.models.inputs import model_inputs

BLOCKS = ((12, 24), (24, 48), (48, 96), (96, 192), (192, 384))
BN_MOMENTUM = 0.9


def _conv_bn(x, filters, name, strides=1, dtype=None):
    x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False,
                      kernel_initializer="he_normal", name=name, dtype=dtype)(x)
    return layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn", dtype=dtype)(x)


def build_xunet2(input_shape=(256, 256, 1), blocks=BLOCKS, threshold=8.0, input_kind="coefficients",
                 name="xunet2"):
    """Build XuNet2. `blocks` is the (c1, c2) width per block; CALPA shrinks it.

    The final 8x8 average pool of the paper is a global average at 256x256; a global
    average keeps the model valid at smaller sizes too.
    """
    inputs, x = model_inputs(input_shape, input_kind, LEVEL_SHIFT["xunet2"])
    x = DCTConv(4, padding="valid", name="dct4x4", dtype=FLOAT32)(x)
    x = Abs(name="dct_abs", dtype=FLOAT32)(x)
    x = Truncate(threshold, name="dct_truncate", dtype=FLOAT32)(x)
    for i, (c1, c2) in enumerate(blocks, start=1):
        p = f"B{i}"
        # the truncated residuals are not integers: block 1's convs reading them stay float32
        first = FLOAT32 if i == 1 else None
        a = layers.ReLU(name=f"{p}_a_relu")(_conv_bn(x, c1, f"{p}_a", dtype=first))
        s = _conv_bn(x, c2, f"{p}_short", strides=2, dtype=first)
        b = layers.Add(name=f"{p}_b_add")([_conv_bn(a, c2, f"{p}_b", strides=2), s])
        b = layers.ReLU(name=f"{p}_b_relu")(b)
        c = layers.ReLU(name=f"{p}_c_relu")(_conv_bn(b, c2, f"{p}_c"))
        d = layers.Add(name=f"{p}_d_add")([_conv_bn(c, c2, f"{p}_d"), b])
        x = layers.ReLU(name=f"{p}_d_relu")(d)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    out = layers.Dense(2, activation="softmax", name="probabilities", dtype=FLOAT32)(x)
    return keras.Model(inputs, out, name=name)
