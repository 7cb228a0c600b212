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

from kerastego.conventions import COEFFICIENTS, FORMAT_VERSION, QUANT_TABLE, TTA_VIEWS
from kerastego.jpeg_io import JpegError, read_luminance
from kerastego.models.quality import quality_warning
from kerastego.serving import ServerError

def is_jpeg(path):
    """A regular file that starts with JPEG's start-of-image marker (a FIFO, device or
    socket is never opened: reading one could block forever)."""
    if not os.path.isfile(path):
        return False
    with open(path, "rb") as f:
        return f.read(2) == b"\xff\xd8"


def expand_paths(paths):
    """(files to analyse, [(path, why it was skipped)]). Folders are searched for files
    that *are* JPEGs (start-of-image marker), whatever their extension; everything
    else in them is listed as skipped, and an empty folder is named."""
    files, skipped = [], []
    for p in paths:
        if not os.path.isdir(p):
            if os.path.exists(p) and not os.path.isfile(p):
                skipped.append((p, "not a regular file"))
            else:
                files.append(p)
            continue
        found = 0
        for root, _, names in os.walk(p):
            for name in sorted(names):
                path = os.path.join(root, name)
                if is_jpeg(path):
                    files.append(path)
                    found += 1
                else:
                    why = "not a regular file" if not os.path.isfile(path) else "not a JPEG (no start-of-image marker)"
                    skipped.append((path, why))
        if not found:
            skipped.append((p, "EMPTY"))
    return files, skipped


def tiles(coefficients, size):
    h, w = coefficients.shape
    if h < size or w < size:
        raise ValueError(f"too small: {w}x{h} for the model's {size}x{size} input")
    return [coefficients[r:r + size, c:c + size] for r in range(0, h - size + 1, size)
            for c in range(0, w - size + 1, size)]


class KerasDetector:
    """A .keras model as f(coefficients (N, S, S) int16, quant tables (N, 8, 8)) -> probabilities,
    under whichever Keras backend is active: a tf.function under TensorFlow, the backend's
    compiled predict step (a jitted function under JAX) otherwise, so no TensorFlow-only
    part runs outside TensorFlow."""

    def __init__(self, path, mixed_precision="off"):
        import keras
        from kerastego.models.inputs import model_input
        from kerastego.models.precision import load_model
        from kerastego.models.quality import training_tables
        self.model = load_model(path, mixed_precision)
        self.kind, self.size = model_input(self.model)
        self.training_tables = training_tables(self.model)
        if keras.backend.backend() == "tensorflow":
            self._fn = self._tf_function()
        else:
            net = self.model if self.kind == COEFFICIENTS else _with_coefficient_input(self.model, self.size)
            self._fn = lambda c, q: net.predict_on_batch({COEFFICIENTS: c, QUANT_TABLE: q})

    def _tf_function(self):
        """One graph for every batch size (a new size traced again would cost seconds)."""
        import tensorflow as tf
        from kerastego.layers import decompress_tf
        signature = [tf.TensorSpec([None, self.size, self.size], tf.int16), tf.TensorSpec([None, 8, 8], tf.float32)]
        if self.kind == COEFFICIENTS:
            fn = tf.function(lambda c, q: self.model({COEFFICIENTS: c, QUANT_TABLE: q}, training=False),
                             input_signature=signature)
        else:
            fn = tf.function(lambda c, q: self.model(decompress_tf(c, q), training=False), input_signature=signature)
        return lambda c, q: fn(c, q).numpy()

    def __call__(self, coefficients, quant_tables):
        return np.asarray(self._fn(coefficients, quant_tables))[:, 1]


def _with_coefficient_input(model, size):
    """A spatial-input model behind an in-graph JpegDecompress (pixel range, +128)."""
    import keras
    from kerastego.layers import JpegDecompress
    coef = keras.Input((size, size), dtype="int16", name=COEFFICIENTS)
    qt = keras.Input((8, 8), dtype="float32", name=QUANT_TABLE)
    return keras.Model({COEFFICIENTS: coef, QUANT_TABLE: qt}, model(JpegDecompress(dtype="float32")([coef, qt])))


class SavedModelDetector:
    """An exported SavedModel version directory, through its serving_default signature.
    A SavedModel runs its graph: its ops are checked against a kerastego export's first
    (kerastego.export.check_saved_model_ops) unless `trust_model`."""

    def __init__(self, path, trust_model=False):
        import tensorflow as tf
        from kerastego.export.savedmodel import check_saved_model_ops
        if not trust_model:
            check_saved_model_ops(path)
        self.loaded = tf.saved_model.load(path)
        version = getattr(self.loaded, "format_version", None)
        version = None if version is None else int(version.numpy())
        if version != FORMAT_VERSION or "serving_default" not in self.loaded.signatures:
            raise ModelPathError(f"{path}: an export of format {version} (this kerastego reads format "
                                 f"{FORMAT_VERSION}): export the .keras model again with bin/export")
        self.fn = self.loaded.signatures["serving_default"]
        self.size = int(self.loaded.input_size.numpy())
        self.training_tables = list(self.loaded.training_quant_tables.numpy())

    def __call__(self, coefficients, quant_tables):
        return self.fn(coefficients=coefficients, quant_table=quant_tables)["probability"].numpy()


class ModelPathError(ValueError):
    """--model names something that is not a detector; the message says what it is."""


def load_detector(path, mixed_precision="off", trust_model=False):
    """A detector from a .keras file (computing under `mixed_precision`, loaded with Keras'
    safe_mode) or a SavedModel version folder (computing as exported, after its op check
    unless `trust_model`), or ModelPathError."""
    if not os.path.exists(path):
        raise ModelPathError(f"{path}: no such file or folder")
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, "saved_model.pb")):
            if mixed_precision != "off":
                raise ModelPathError(f"{path}: a SavedModel computes in the precision it was exported with "
                                     f"(bin/export --mixed_precision); --mixed_precision is for .keras models")
            from kerastego.export.savedmodel import UntrustedModelError
            try:
                return SavedModelDetector(path, trust_model)
            except UntrustedModelError as e:
                raise ModelPathError(str(e)) from e
        versions = sorted((d for d in os.listdir(path) if d.isdigit()), key=int)
        if versions:
            raise ModelPathError(f"{path}: a TF Serving model folder; give one version, e.g. "
                                 f"{os.path.join(path, versions[-1])}")
        raise ModelPathError(f"{path}: a folder, but neither a SavedModel nor a .keras file")
    if is_jpeg(path):
        raise ModelPathError(f"{path}: a JPEG image, not a model (give the model with --model, images after it)")
    try:
        return KerasDetector(path, mixed_precision)
    except Exception as e:   # Keras raises ValueError, zipfile/OSError... for a file that is no model
        raise ModelPathError(f"{path}: not a .keras model ({e.__class__.__name__}: {str(e).splitlines()[0]})") from e


def open_detector(model=None, server=None, model_name="kerastego", mixed_precision="off", trust_model=False):
    """The detector of a --model path or a --server address (grpc://host:port or host:port
    for REST); ModelPathError or ServerError saying what is wrong."""
    if bool(model) == bool(server):
        raise ValueError("give exactly one of model or server")
    if server:
        from kerastego.serving import server_detector
        return server_detector(server, model_name)
    return load_detector(model, mixed_precision, trust_model)


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
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be a probability strictly between 0 and 1, got {threshold}")
    files, skipped = expand_paths(paths)
    rows = [skipped_row(p, why) for p, why in skipped]
    for path in files:
        row, parts, qt = read_file(path, detector.size, backend)
        if row["error"]:
            rows.append(row)
            continue
        # a verdict on a JPEG quality the model never saw is not given silently
        row["quality_warning"] = quality_warning(qt, getattr(detector, "training_tables", [])) or ""
        try:
            probs = _tile_probabilities(detector, parts, qt, batch_size, views)
        except ServerError as e:
            row["error"] = f"{path}: {e}"
            rows.append(row)
            continue
        rows.append(verdict(row, probs, threshold, len(parts)))
    return rows


def skipped_row(path, why):
    """The row of a path that is not analysed: EMPTY (a folder without JPEGs) is an error."""
    return {**empty_row(path), "note": "" if why == "EMPTY" else f"skipped: {why}",
            "error": f"{path}: folder holds no JPEG files" if why == "EMPTY" else ""}


def empty_row(path):
    return {"file": path, "probability": None, "verdict": None, "tiles": 0, "note": "", "error": "",
            "quality_warning": ""}


def read_file(path, size, backend="jpeglib"):
    """(row, tiles, quant table) of one file before the model: the row holds the notes
    (colour, extra data, the part analysed) or, for a file that cannot be used, the
    error (tiles and table are then None). The one reading rule detect and scan share."""
    row = empty_row(path)
    try:
        c, qt, colour, extra = read_luminance(path, allow_colour=True, backend=backend)
        parts = tiles(c, size)
    except (JpegError, ValueError) as e:
        row["error"] = str(e) if str(e).startswith(str(path)) else f"{path}: {e}"
        return row, None, None
    notes = ["colour JPEG: luminance channel used"] if colour else []
    if extra:
        notes.append(f"extra data after end of image ({extra} bytes), not analysed")
    covered = (c.shape[0] // size * size, c.shape[1] // size * size)
    if covered != c.shape:
        notes.append(f"analysed {covered[1]}x{covered[0]} of {c.shape[1]}x{c.shape[0]} pixels "
                     f"({len(parts)} tile(s) of {size})")
    row["note"] = "; ".join(notes)
    return row, np.stack(parts).astype(np.int16), np.asarray(qt, np.float32)


def _tile_probabilities(detector, parts, qt, batch_size, views):
    probs = []
    for i in range(0, len(parts), batch_size):
        chunk = parts[i:i + batch_size]
        qts = np.repeat(qt[None], len(chunk), axis=0).astype(np.float32)
        probs.append(np.mean([detector(c, q) for c, q in _views(chunk, qts, views)], axis=0))
    return np.concatenate(probs)


def verdict(row, tile_probabilities, threshold, tiles):
    """The row with its probability and verdict, or an error when any tile's probability is
    not a finite number in [0, 1] (no verdict is given on NaN)."""
    p = np.asarray(tile_probabilities, np.float64)
    bad = p[~(np.isfinite(p) & (p >= 0) & (p <= 1))]
    if bad.size:
        row["error"] = f"{row['file']}: the model gave {bad.size} non-finite or out-of-range probability(ies) " \
                       f"(e.g. {bad[0]}): no verdict"
        return row
    mean = float(np.mean(p))
    row.update(probability=mean, verdict="stego" if mean >= threshold else "cover", tiles=tiles)
    return row


def printable(text):
    """`text` with control characters (newlines, escapes, ...) shown as \\xNN, so a file
    name cannot forge a row or drive the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A CSV cell a spreadsheet shows as text: a string starting like a formula gets a
    leading apostrophe (the OWASP CSV-injection rule); numbers stay numbers."""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_STARTS):
        return "'" + value
    return value


def format_rows(rows, fmt="table"):
    if fmt == "json":
        return json.dumps(rows, indent=2, allow_nan=False)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["file"])
        w.writeheader()
        w.writerows({k: csv_cell(v) for k, v in r.items()} for r in rows)
        return buf.getvalue()
    lines = []
    for r in rows:
        if r["error"]:
            lines.append(f"ERROR  {printable(r['error'])}")
        elif r["verdict"] is None:
            lines.append(f"SKIP   {printable(r['file'])}: {printable(r['note'])}")
        else:
            note = f"  ({printable(r['note'])})" if r["note"] else ""
            verdict = f"{r['verdict']}?" if r.get("quality_warning") else r["verdict"]
            warn = f"  UNRELIABLE: {r['quality_warning']}" if r.get("quality_warning") else ""
            lines.append(f"{verdict:<6} p={r['probability']:.4f}  tiles={r['tiles']:<3} "
                         f"{printable(r['file'])}{note}{warn}")
    return "\n".join(lines)
