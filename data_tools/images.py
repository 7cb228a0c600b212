"""Loading source images (JPEG/PNG, colour or grey, 8 or 16 bits) as 8-bit grayscale."""
import os
import warnings

import numpy as np

MAX_SIDE = 16384        # pixels per side, checked from the header before any pixel is decoded
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I")


def _grey_8bit(im, path):
    """The opened image as uint8 grey: 16-bit samples scaled (v / 257, so 65535 -> 255, not
    clipped to white), colour through ITU-R 601 luma; floating-point pixels refused."""
    if im.mode in SIXTEEN_BIT_MODES:
        a = np.asarray(im, dtype=np.float64)
        if a.size and (a.min() < 0 or a.max() > 65535):
            raise ValueError(f"{path}: pixel values outside 0..65535 in a {im.mode} image")
        return np.round(a / 257.0).astype(np.uint8)
    if im.mode == "F":
        raise ValueError(f"{path}: floating-point pixels; give an 8- or 16-bit photo")
    if im.mode in ("RGBA", "LA", "P"):
        im = im.convert("RGBA").convert("RGB") if im.mode != "LA" else im.convert("L")
    return np.asarray(im.convert("L"), dtype=np.uint8)


def load_grayscale(path):
    """Return (uint8 (H, W) array, was_colour). Raises ValueError naming the file.
    Only regular files are opened (a FIFO would block, a dangling link has nothing);
    a header beyond MAX_SIDE is refused before decoding.
    A .npz holding one uint8 image (PyWavelets' sample photos) is read as is."""
    if not os.path.isfile(path):
        why = "file not found" if not os.path.lexists(path) else "not a regular file (or a dangling link)"
        raise ValueError(f"{path}: {why}")
    if str(path).endswith(".npz"):
        return _load_npz(path)
    from PIL import Image, UnidentifiedImageError
    Image.MAX_IMAGE_PIXELS = MAX_SIDE * MAX_SIDE   # PIL's own bomb check, at our limit: ours names the size
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)   # refused below, with its size
            im = Image.open(path)
        with im:
            if max(im.size) > MAX_SIDE:
                raise ValueError(f"{path}: {im.size[0]}x{im.size[1]} pixels, beyond the limit of {MAX_SIDE} "
                                 "per side (refused before decoding)")
            im.load()
            colour = im.mode not in ("L", "1", "F", *SIXTEEN_BIT_MODES)
            return _grey_8bit(im, path), colour
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError, MemoryError) as e:
        raise ValueError(f"{path}: not a readable image ({e.__class__.__name__}: {e})")


def _load_npz(path):
    try:
        with np.load(path) as z:
            if len(z.files) != 1:
                raise ValueError(f"{path}: expected one image array in the .npz, found {z.files}")
            a = z[z.files[0]]
    except (OSError, ValueError, EOFError) as e:
        raise ValueError(f"{path}: cannot read image: {e}") from e
    if a.ndim == 3 and a.shape[-1] == 3:
        a = a @ np.array([0.299, 0.587, 0.114])
        return np.clip(np.round(a), 0, 255).astype(np.uint8), True
    if a.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D (grey) or H x W x 3 image, got shape {a.shape}")
    if a.dtype != np.uint8:
        raise ValueError(f"{path}: expected uint8 pixels, got {a.dtype}")
    return a, False
