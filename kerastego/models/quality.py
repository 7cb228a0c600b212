"""Which JPEG quality a model was trained at, and whether a file matches it.

The trainer records its training data's quantization tables in the saved model
(kerastego.models.record); detect, evaluate and the export compare each file's table
with them, and name both qualities when they differ. Qualities are estimated against
the IJG (libjpeg) scaling of the standard luminance table, what almost every encoder uses.
"""
import numpy as np

from kerastego.models.record import model_record

# ITU-T T.81 Annex K luminance table, row-major
STD_LUMINANCE = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], np.float64).reshape(8, 8)


def table_for_quality(quality):
    """libjpeg's luminance table at quality 1..100."""
    q = int(quality)
    scale = 5000 / q if q < 50 else 200 - 2 * q
    return np.clip(np.floor((STD_LUMINANCE * scale + 50) / 100), 1, 255)


_EVERY_QUALITY = np.stack([table_for_quality(q) for q in range(1, 101)])   # (100, 8, 8), quality 1 first


def estimate_quality(table):
    """The libjpeg quality whose table is closest to `table` (exact for libjpeg files; the
    lowest such quality on a tie)."""
    t = np.asarray(table, np.float64).reshape(1, 8, 8)
    return int(np.argmin(np.abs(_EVERY_QUALITY - t).sum(axis=(1, 2)))) + 1


def training_tables(model):
    """The recorded training tables as (8, 8) arrays ([] for a model without a record)."""
    record = model_record(model)
    return record["tables"] if record else []


QUALITY_UNKNOWN = "quality unknown: not checked (the model records no training quality)"


def quality_warning(table, tables):
    """None when `table` is one of the training tables, else the message every output
    format carries: the qualities when they differ, QUALITY_UNKNOWN when the model
    records none (a verdict is never given on an unchecked quality without saying so)."""
    if not len(tables):
        return QUALITY_UNKNOWN
    t = np.asarray(table, np.float64).reshape(8, 8)
    if any(np.array_equal(t, np.asarray(x).reshape(8, 8)) for x in tables):
        return None
    trained = "/".join(str(q) for q in sorted({estimate_quality(x) for x in tables}))
    return f"quality differs from training (QF~{estimate_quality(t)} vs {trained}): verdict unreliable"
