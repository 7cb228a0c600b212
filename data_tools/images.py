"""Loading source images (JPEG/PNG, colour or grey) as 8-bit grayscale."""
import numpy as np


def load_grayscale(path):
    """Return (uint8 (H, W) array, was_colour). Raises ValueError naming the file."""
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
