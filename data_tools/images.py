"""Loading source images (JPEG/PNG, colour or grey) as 8-bit grayscale."""
import numpy as np


def load_grayscale(path):
    """Return (uint8 (H, W) array, was_colour). Raises ValueError naming the file.
    A .npz holding one uint8 image (PyWavelets' sample photos) is read as is."""
    if str(path).endswith(".npz"):
        return _load_npz(path)
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as im:
            im.load()
            colour = im.mode not in ("L", "1", "I;16", "I", "F")
            if im.mode in ("RGBA", "LA", "P"):
                im = im.convert("RGBA").convert("RGB") if im.mode != "LA" else im.convert("L")
            g = im.convert("L")  # ITU-R 601 luma for colour input
            return np.asarray(g, dtype=np.uint8), colour
    except FileNotFoundError:
        raise ValueError(f"{path}: file not found")
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
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
