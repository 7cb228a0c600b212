"""The record every model kerastego saves carries (kerastego.layers.ModelRecord): the
format version, the model's family and its training data's quantization tables. The
trainer and the importer write it; detect, evaluate, export, prune, --init_from and the
precision switch read it, and loading refuses a record of another format version."""
import numpy as np

from kerastego.layers import ModelRecord
from kerastego.models.registry import FAMILIES, infer_family

RECORD_LAYER = "kerastego_record"


def with_record(model, family=None, tables=None):
    """The model with its record at the output (an identity layer), replacing an earlier
    record and keeping what is not given: `family` (one of FAMILIES; required for a model
    without a record) and `tables` (iterable of (8, 8) training tables)."""
    import keras
    before = model_record(model)
    family = family or (before["family"] if before else None)
    if family not in FAMILIES:
        raise ValueError(f"model {model.name!r}: family must be one of {FAMILIES}, got {family!r}")
    if tables is None:
        tables = before["tables"] if before else []
    unique = sorted({tuple(np.asarray(t, np.float64).ravel()) for t in tables})
    output = model.layers[-1].input if model.layers[-1].name == RECORD_LAYER else model.output
    recorded = ModelRecord(family, unique, name=RECORD_LAYER)(output)
    return keras.Model(model.input, recorded, name=model.name)


def model_record(model):
    """{"format_version", "family", "tables": [(8, 8) arrays]} of the model's record, or
    None for a model without one (built in memory, not yet saved by kerastego)."""
    try:
        layer = model.get_layer(RECORD_LAYER)
    except ValueError:
        return None
    return {"format_version": layer.format_version, "family": layer.family,
            "tables": [np.asarray(t, np.float64).reshape(8, 8) for t in layer.tables]}


def recorded_family(model):
    """The family the model records; for a model without a record (built in memory), the
    family its structure shows (infer_family)."""
    record = model_record(model)
    return record["family"] if record and record["family"] else infer_family(model)
