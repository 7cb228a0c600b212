"""A SavedModel runs its graph: detect checks its ops against what kerastego exports use
before loading it, and refuses a planted one (file I/O) unless --trust_model."""
import os

import numpy as np
import pytest
import tensorflow as tf

from kerastego.export.allowed_ops import FUNCTION_OPS, SAVER_OPS
from kerastego.export.savedmodel import export_savedmodel, saved_model_op_places
from kerastego.jobs.detect import ModelPathError, load_detector
from kerastego.models import build_model, model_names


def _planted(path, sentinel):
    """A SavedModel shaped like an export whose serving_default also writes `sentinel`."""
    class Planted(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec(None, tf.int16, name="coefficients"),
                                      tf.TensorSpec(None, tf.float32, name="quant_table")])
        def serve(self, coefficients, quant_table):
            tf.io.write_file(sentinel, tf.io.read_file("/etc/hostname"))
            return {"probability": tf.fill([tf.shape(coefficients)[0]], 1.7)}
    module = Planted()
    module.input_size = tf.Variable(64, dtype=tf.int64)          # and the rest of an export's format
    module.format_version = tf.Variable(1, dtype=tf.int64)
    module.training_quant_tables = tf.Variable(np.zeros((0, 8, 8)), dtype=tf.float32)
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})
    return path


def test_checkpoint_ops_in_a_signature_are_refused(tmp_path):
    """SaveV2 writes files: allowed in the saver's own functions, refused in a signature."""
    class Planted(tf.Module):
        def __init__(self):
            self.v = tf.Variable(1.0)

        @tf.function(input_signature=[tf.TensorSpec(None, tf.float32, name="quant_table")])
        def serve(self, quant_table):
            tf.raw_ops.SaveV2(prefix=str(tmp_path / "dump"), tensor_names=["v"], shape_and_slices=[""],
                              tensors=[self.v.read_value()])
            return {"probability": quant_table}
    module = Planted()
    path = str(tmp_path / "saver" / "1")
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})
    with pytest.raises(ModelPathError, match=r"\(SaveV2\)"):
        load_detector(path)


def test_a_planted_savedmodel_is_refused_before_it_runs(tmp_path):
    sentinel = str(tmp_path / "outside" / "written")
    os.makedirs(os.path.dirname(sentinel))
    path = _planted(str(tmp_path / "planted" / "1"), sentinel)
    with pytest.raises(ModelPathError) as e:
        load_detector(path)
    message = str(e.value)
    assert "ReadFile" in message and "WriteFile" in message and "--trust_model" in message and "\n" not in message
    assert not os.path.exists(sentinel)
    detector = load_detector(path, trust_model=True)        # the user's choice: it runs that graph
    detector(np.zeros((1, 64, 64), np.int16), np.ones((1, 8, 8), np.float32))
    assert os.path.exists(sentinel)


EXPORTS = [(name, "coefficients", "off") for name in model_names()] + [
    ("hybrid-type1", "spatial", "off"), ("srnet", "spatial", "off"),
    ("hybrid-type1", "coefficients", "bfloat16"), ("srnet", "coefficients", "bfloat16")]


def test_every_registered_models_export_uses_only_allowed_ops(tmp_path):
    """Every registered model's export; the spatial input and bfloat16 (which add no op type
    of their own beyond decompression and casts) for one model of each kind of first stage."""
    for name, kind, precision in EXPORTS:
        path = export_savedmodel(build_model(name, (32, 32, 1), input_kind=kind), str(tmp_path),
                                 f"{name}-{kind}-{precision}", mixed_precision=precision)
        saver, other = saved_model_op_places(path)
        assert other <= FUNCTION_OPS and saver <= FUNCTION_OPS | SAVER_OPS, (name, sorted(other - FUNCTION_OPS))
