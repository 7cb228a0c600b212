"""Model inputs: what a model takes, built and read back in one place.

A "coefficients" model takes what a JPEG file stores and decompresses in-graph; a
"spatial" model takes the non-rounded decompressed image in pixel range. Each
family's authors' level shift (kerastego.conventions.LEVEL_SHIFT) is applied inside
the model, so every data path, detector and export feeds one convention.
"""
import keras

from kerastego.conventions import COEFFICIENTS, FLOAT32, IMAGE, INPUT_KINDS, QUANT_TABLE
from kerastego.layers import JpegDecompress, LevelShift

DECOMPRESS_LAYER = "jpeg_decompress"


def model_inputs(input_shape, input_kind="coefficients", level_shift=True):
    """Return (inputs, x): the Keras inputs and the image tensor (B, H, W, 1) the
    network sees, with (level_shift=True) or without the +128 level shift."""
    if input_kind not in INPUT_KINDS:
        raise ValueError(f"input_kind must be one of {INPUT_KINDS}, got {input_kind!r}")
    h, w = int(input_shape[0]), int(input_shape[1])
    if len(input_shape) == 3 and input_shape[2] != 1:
        raise ValueError(f"kerastego models take one luminance channel, got input_shape {input_shape}")
    if h % 8 or w % 8:
        raise ValueError(f"input height and width must be multiples of 8 (JPEG blocks), got {h}x{w}")
    if input_kind == "spatial":
        x = keras.Input((h, w, 1), name=IMAGE)
        return x, (x if level_shift else LevelShift(-128.0, name="level_shift", dtype=FLOAT32)(x))
    coef = keras.Input((h, w), dtype="int16", name=COEFFICIENTS)
    qt = keras.Input((8, 8), dtype="float32", name=QUANT_TABLE)
    x = JpegDecompress(level_shift=level_shift, name=DECOMPRESS_LAYER, dtype=FLOAT32)([coef, qt])
    return {COEFFICIENTS: coef, QUANT_TABLE: qt}, x


def model_input(model):
    """('coefficients' | 'spatial', image size) a Keras model expects."""
    if isinstance(model.input, dict) or len(model.inputs) == 2:
        shape = [i for i in model.inputs if i.dtype == "int16" or len(i.shape) == 3][0].shape
        return COEFFICIENTS, int(shape[1])
    return "spatial", int(model.inputs[0].shape[1])


def pixel_range_model(model):
    """The part of `model` that takes a decompressed image in pixel range (with +128):
    what the export's `spatial` signature serves, whatever the family's convention."""
    kind, size = model_input(model)
    if kind == "spatial":
        return model
    decompress = model.get_layer(DECOMPRESS_LAYER)
    tail = keras.Model(decompress.output, model.output)
    if decompress.level_shift:
        return tail
    image = keras.Input((size, size, 1), name=IMAGE)
    return keras.Model(image, tail(LevelShift(-128.0, name="level_shift")(image)))
