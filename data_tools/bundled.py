"""Real photos that ship inside installed packages, for demos and tests without a
download: scikit-image's data folder, matplotlib's sample data, and, when installed (the
`photos` extra), scikit-learn's two photos and PyWavelets' two (stored as .npz).
Synthetic images (test patterns, logos, text) and duplicates (PyWavelets' camera is
scikit-image's) are left out. More photos from more scenes make held-out photos
less unlike the training ones."""
import glob
import os

SKIMAGE_PHOTOS = {
    # file stem -> source (the two motorcycle views are one scene: one source)
    "astronaut": "astronaut", "brick": "brick", "camera": "camera", "cell": "cell",
    "chelsea": "chelsea", "clock_motion": "clock", "coffee": "coffee", "coins": "coins",
    "grass": "grass", "gravel": "gravel", "hubble_deep_field": "hubble", "ihc": "ihc",
    "moon": "moon", "motorcycle_left": "motorcycle", "motorcycle_right": "motorcycle",
    "retina": "retina", "rocket": "rocket",
}


def bundled_photos():
    """List of (source, path) of bundled real photos, sorted."""
    out = []
    import skimage
    data_dir = os.path.join(os.path.dirname(skimage.__file__), "data")
    for path in glob.glob(os.path.join(data_dir, "*.*")):
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem in SKIMAGE_PHOTOS:
            out.append((SKIMAGE_PHOTOS[stem], path))
    try:
        import matplotlib
        p = os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg")
        if os.path.exists(p):
            out.append(("grace_hopper", p))
    except ImportError:
        pass
    try:
        import sklearn
        for name in ("china", "flower"):
            p = os.path.join(os.path.dirname(sklearn.__file__), "datasets", "images", f"{name}.jpg")
            if os.path.exists(p):
                out.append((name, p))
    except ImportError:
        pass
    try:
        import pywt
        for name in ("aero", "ascent"):
            p = os.path.join(os.path.dirname(pywt.__file__), "data", f"{name}.npz")
            if os.path.exists(p):
                out.append((name, p))
    except ImportError:
        pass
    if not out:
        raise RuntimeError("no bundled photos found (is scikit-image installed?)")
    return sorted(out)
