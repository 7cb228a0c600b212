"""Detection on JPEG files: the stego probability per file from a trained model.

Files larger than the model's input are cut into model-sized tiles on the 8x8
block grid and the tile probabilities averaged; colour JPEGs use their
luminance channel and say so; unreadable files get an error row and the rest go on.
"""
import csv
import io
import json
import os

import numpy as np

from kerastego.conventions import COEFFICIENTS, QUANT_TABLE, TTA_VIEWS
from kerastego.jpeg_io import JpegError, read_coefficients

JPEG_EXTENSIONS = (".jpg", ".jpeg", ".jpe", ".jfif")


def expand_paths(paths):
    out = []
    for p in paths:
        if os.path.isdir(p):
            for root, _, files in os.walk(p):
                out.extend(os.path.join(root, f) for f in sorted(files) if f.lower().endswith(JPEG_EXTENSIONS))
        else:
            out.append(p)
    return out


def tiles(coefficients, size):
    h, w = coefficients.shape
    if h < size or w < size:
        raise ValueError(f"too small: {w}x{h} for the model's {size}x{size} input")
    return [coefficients[r:r + size, c:c + size] for r in range(0, h - size + 1, size)
            for c in range(0, w - size + 1, size)]


class KerasDetector:
    """A .keras model as f(coefficients (N, S, S) int16, quant tables (N, 8, 8)) -> probabilities."""

    def __init__(self, path):
        import keras
        import tensorflow as tf
        from kerastego.models.inputs import model_input
        from kerastego.layers import decompress_tf
        self.model = keras.models.load_model(path)
        self.kind, self.size = model_input(self.model)
        if self.kind == COEFFICIENTS:
            self._fn = tf.function(lambda c, q: self.model({COEFFICIENTS: c, QUANT_TABLE: q}, training=False))
        else:
            self._fn = tf.function(lambda c, q: self.model(decompress_tf(c, q), training=False))

    def __call__(self, coefficients, quant_tables):
        return self._fn(coefficients, quant_tables).numpy()[:, 1]


class SavedModelDetector:
    """An exported SavedModel version directory, through its serving_default signature."""

    def __init__(self, path):
        import tensorflow as tf
        self.loaded = tf.saved_model.load(path)
        self.fn = self.loaded.signatures["serving_default"]
        self.size = int(self.fn.structured_input_signature[1][COEFFICIENTS].shape[1])

    def __call__(self, coefficients, quant_tables):
        return self.fn(coefficients=coefficients, quant_table=quant_tables)["probability"].numpy()


def load_detector(path):
    if os.path.isdir(path) and os.path.exists(os.path.join(path, "saved_model.pb")):
        return SavedModelDetector(path)
    return KerasDetector(path)


def _views(chunk, qts, views):
    """The chunk under `views` exact flips/rotations (see kerastego.data.augment.dihedral_batch)."""
    if views == 1:
        return [(chunk, qts)]
    import tensorflow as tf
    from kerastego.data.augment import dihedral_batch
    chunk, qts = tf.constant(chunk), tf.constant(qts)
    out = []
    for op in range(views):
        x = dihedral_batch({COEFFICIENTS: chunk, QUANT_TABLE: qts}, op)
        out.append((x[COEFFICIENTS].numpy(), x[QUANT_TABLE].numpy()))
    return out


def detect(paths, detector, batch_size=32, threshold=0.5, backend="jpeglib", views=1):
    """Rows of {file, probability, verdict, tiles, note, error} for each JPEG.
    views: 1, 2, 4 or 8 exact flips/rotations averaged per tile (test-time augmentation)."""
    if views not in TTA_VIEWS:
        raise ValueError(f"views must be one of {TTA_VIEWS}, got {views}")
    rows = []
    for path in expand_paths(paths):
        row = {"file": path, "probability": None, "verdict": None, "tiles": 0, "note": "", "error": ""}
        try:
            c, qt, colour = read_coefficients(path, allow_colour=True, backend=backend)
            parts = tiles(c, detector.size)
        except (JpegError, ValueError) as e:
            row["error"] = str(e) if str(e).startswith(str(path)) else f"{path}: {e}"
            rows.append(row)
            continue
        if colour:
            row["note"] = "colour JPEG: luminance channel used"
        probs = []
        for i in range(0, len(parts), batch_size):
            chunk = np.stack(parts[i:i + batch_size]).astype(np.int16)
            qts = np.repeat(qt[None], len(chunk), axis=0).astype(np.float32)
            probs.append(np.mean([detector(c, q) for c, q in _views(chunk, qts, views)], axis=0))
        p = float(np.mean(np.concatenate(probs)))
        row.update(probability=p, verdict="stego" if p >= threshold else "cover", tiles=len(parts))
        rows.append(row)
    return rows


def format_rows(rows, fmt="table"):
    if fmt == "json":
        return json.dumps(rows, indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["file"])
        w.writeheader()
        w.writerows(rows)
        return buf.getvalue()
    lines = []
    for r in rows:
        if r["error"]:
            lines.append(f"ERROR  {r['error']}")
        else:
            note = f"  ({r['note']})" if r["note"] else ""
            lines.append(f"{r['verdict']:<6} p={r['probability']:.4f}  tiles={r['tiles']:<3} {r['file']}{note}")
    return "\n".join(lines)
