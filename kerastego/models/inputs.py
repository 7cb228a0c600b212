"""Model inputs: a spatial (decompressed) image, or JPEG coefficients + quant table
decompressed in-graph so a model can take what a JPEG file stores."""
import keras

from kerastego.layers import JpegDecompress

INPUT_KINDS = ("spatial", "coefficients")
COEFFICIENTS = "coefficients"
QUANT_TABLE = "quant_table"
SPATIAL = "image"


def model_inputs(input_shape, input_kind="spatial"):
    """Return (inputs, x): the Keras inputs and the spatial image tensor (B, H, W, 1)."""
    if input_kind not in INPUT_KINDS:
        raise ValueError(f"input_kind must be one of {INPUT_KINDS}, got {input_kind!r}")
    h, w = int(input_shape[0]), int(input_shape[1])
    if len(input_shape) == 3 and input_shape[2] != 1:
        raise ValueError(f"kerastego models take one luminance channel, got input_shape {input_shape}")
    if h % 8 or w % 8:
        raise ValueError(f"input height and width must be multiples of 8 (JPEG blocks), got {h}x{w}")
    if input_kind == "spatial":
        x = keras.Input((h, w, 1), name=SPATIAL)
        return x, x
    coef = keras.Input((h, w), dtype="int16", name=COEFFICIENTS)
    qt = keras.Input((8, 8), dtype="float32", name=QUANT_TABLE)
    x = JpegDecompress(name="jpeg_decompress")([coef, qt])
    return {COEFFICIENTS: coef, QUANT_TABLE: qt}, x
