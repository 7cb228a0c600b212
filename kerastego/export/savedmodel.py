"""SavedModel export in TensorFlow Serving's layout, with pinned signatures.

<base>/<model_name>/<version>/ holds one SavedModel; versions are integers and a new
export never overwrites an old one. Signatures (names fixed, see BUILD.md):

  serving_default: coefficients int16 [batch, H, W] + quant_table float32 [batch, 8, 8]
  spatial:         image float32 [batch, H, W, 1] (non-rounded decompressed pixels)
  -> probability float32 [batch] (stego), class int64 [batch] (1 = stego),
     vote float32 [batch] (share of ensemble members voting stego; 0/1 for one model)

Several models export as one ensemble: probability is their mean, class the
majority vote (ties broken by the mean probability), as in the hybrid paper.
"""
import os

import numpy as np
import tensorflow as tf

from kerastego.conventions import COEFFICIENTS, FORMAT_VERSION, IMAGE, METADATA_SIGNATURE, QUANT_TABLE
from kerastego.fileio import FolderLock
from kerastego.layers import decompress_tf
from kerastego.models.inputs import model_input, pixel_range_model
from kerastego.models.precision import with_precision
from kerastego.models.quality import training_tables
from kerastego.models.saving import load_model as load_saved_model


class ExportModule(tf.Module):
    def __init__(self, models, size):
        super().__init__()
        self.members = [pixel_range_model(m) for m in models]
        self.size = size
        # the tile size, for clients: the signatures take any shape and check it in-graph
        self.input_size = tf.Variable(size, dtype=tf.int64, trainable=False, name="input_size")
        self.format_version = tf.Variable(FORMAT_VERSION, dtype=tf.int64, trainable=False, name="format_version")
        # the JPEG qualities the members were trained at (detect warns on other files)
        tables = {tuple(t.ravel()) for m in models for t in training_tables(m)}
        self.training_quant_tables = tf.Variable(np.reshape(sorted(tables) or np.zeros((0, 64)), (-1, 8, 8)),
                                                 dtype=tf.float32, trainable=False, name="training_quant_tables")

    def _outputs(self, image):
        probs = tf.stack([m(image, training=False)[:, 1] for m in self.members])   # (models, batch)
        mean = tf.reduce_mean(probs, axis=0)
        vote = tf.reduce_mean(tf.cast(probs >= 0.5, tf.float32), axis=0)
        stego = tf.where(tf.equal(vote, 0.5), mean >= 0.5, vote > 0.5)
        return {"probability": mean, "class": tf.cast(stego, tf.int64), "vote": vote}


def _checked_tiles(x, size, name, channels=()):
    """x after in-graph checks of its rank and size, with messages a serving client can read
    (the signatures take any shape, so a wrong one reaches these checks and not a Placeholder's
    shape error), then with its static shape set for the model."""
    rank = 3 + len(channels)
    layout = f"[batch, {size}, {size}" + "".join(f", {c}" for c in channels) + "]"
    checks = [tf.debugging.assert_rank(x, rank, message=f"{name} must be {layout} (rank {rank})")]
    with tf.control_dependencies(checks):
        hw = tf.shape(x)[1:3]
        checks = [tf.debugging.assert_equal(hw % 8, 0, message=(
                      f"{name} height and width must be multiples of 8 (whole 8x8 JPEG blocks)")),
                  tf.debugging.assert_equal(hw, [size, size], message=(
                      f"this model takes {size}x{size} {name}: tile larger images on the 8x8 grid, as detect does"))]
        if channels:
            checks.append(tf.debugging.assert_equal(tf.shape(x)[3:], list(channels),
                                                    message=f"{name} must be {layout}"))
    with tf.control_dependencies(checks):
        x = tf.identity(x)
    x.set_shape([None, size, size, *channels])   # static only: an EnsureShape op could fail before the checks
    return x


def _make_signatures(module, size):
    @tf.function(input_signature=[tf.TensorSpec(None, tf.int16, name=COEFFICIENTS),
                                  tf.TensorSpec(None, tf.float32, name=QUANT_TABLE)])
    def serving_default(coefficients, quant_table):
        coefficients = _checked_tiles(coefficients, size, COEFFICIENTS)
        ok = tf.reduce_all(tf.math.is_finite(quant_table)) & tf.reduce_all(quant_table > 0)
        checks = [tf.debugging.assert_rank(quant_table, 3, message="quant_table must be [batch, 8, 8] (rank 3)")]
        with tf.control_dependencies(checks):
            checks = [tf.debugging.assert_equal(tf.shape(quant_table)[1:], [8, 8],
                                                message="quant_table must be [batch, 8, 8]"),
                      tf.debugging.Assert(ok, ["quant_table must be finite and positive (a JPEG's 8x8 table)"]),
                      tf.debugging.assert_equal(tf.shape(coefficients)[0], tf.shape(quant_table)[0], message=(
                          "coefficients and quant_table must have the same batch size"))]
        with tf.control_dependencies(checks):
            quant_table = tf.identity(quant_table)
        quant_table.set_shape([None, 8, 8])
        return module._outputs(decompress_tf(coefficients, quant_table))

    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32, name=IMAGE)])
    def spatial(image):
        return module._outputs(_checked_tiles(image, size, IMAGE, channels=(1,)))

    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32, name=QUANT_TABLE)])
    def metadata(quant_table):
        """What a serving client checks before trusting a verdict: the tile size and the
        training quant tables (the input is unused: TF Serving's predict needs one)."""
        del quant_table
        return {"input_size": tf.identity(module.input_size),
                "training_quant_tables": tf.identity(module.training_quant_tables)}

    return {"serving_default": serving_default, "spatial": spatial, METADATA_SIGNATURE: metadata}


def next_version(model_dir):
    versions = [int(d) for d in os.listdir(model_dir) if d.isdigit()] if os.path.isdir(model_dir) else []
    return max(versions, default=0) + 1


def export_savedmodel(models, base_dir, model_name="kerastego", version=None, mixed_precision="off"):
    """Export one model or an ensemble, computing under `mixed_precision` (models.precision;
    the signatures take and return float32 either way); returns the version directory."""
    models = [with_precision(load_saved_model(m) if isinstance(m, str) else m, mixed_precision)
              for m in (models if isinstance(models, (list, tuple)) else [models])]
    sizes = {model_input(m)[1] for m in models}
    if len(sizes) != 1:
        raise ValueError(f"ensemble members take different input sizes: {sorted(sizes)}")
    size = sizes.pop()
    if size % 8:
        raise ValueError(f"input size {size} is not a multiple of 8")
    model_dir = os.path.join(base_dir, model_name)
    with FolderLock(model_dir, "export"):   # two exports never pick the same version
        version = next_version(model_dir) if version is None else int(version)
        path = os.path.join(model_dir, str(version))
        if os.path.exists(path):
            raise FileExistsError(f"{path} exists: versions are never overwritten")
        module = ExportModule(models, size)
        signatures = _make_signatures(module, size)
        tmp = path + ".tmp"
        tf.saved_model.save(module, tmp, signatures=signatures)
        os.replace(tmp, path)   # TF Serving only ever sees complete versions
    return path


def saved_model_ops(path):
    """Every op type used by a SavedModel's graph and function library."""
    saver, other = saved_model_op_places(path)
    return sorted(saver | other)


# Ops that call back into Python: a model server has no interpreter to run them.
PYTHON_OPS = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}


def unservable_ops(path):
    """Ops of the SavedModel that a stock TF Serving build cannot run: Python
    callbacks, and ops not registered in core TensorFlow (custom-op libraries)."""
    from tensorflow.python.framework import op_def_registry
    bad = []
    for op in saved_model_ops(path):
        if op in PYTHON_OPS or op_def_registry.get(op) is None:
            bad.append(op)
    return bad


class UntrustedModelError(ValueError):
    """A SavedModel whose graph uses an op no kerastego export uses; refused before loading."""


def _called(node_or_attrs):
    """Names of the functions a node (or a function's node) calls through its attrs."""
    names = []
    for value in node_or_attrs.attr.values():
        if value.HasField("func"):
            names.append(value.func.name)
        names.extend(f.name for f in value.list.func)
    return names


def _reachable(roots, library):
    """The functions of `library` ({name: FunctionDef}) that `roots` call, transitively."""
    seen, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name not in library:
            continue
        seen.add(name)
        todo.extend(c for node in library[name].node_def for c in _called(node))
    return seen


def saved_model_op_places(path):
    """(ops the saver's functions run, ops everything else runs: the top-level graph, the
    signatures and any other function), function calls left out. The saver is what the
    meta graph's saver_def names (restore runs when a model loads)."""
    from tensorflow.core.protobuf import saved_model_pb2
    sm = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        sm.ParseFromString(f.read())
    saver, other = set(), set()
    for mg in sm.meta_graphs:
        library = {fn.signature.name: fn for fn in mg.graph_def.library.function}
        saver_nodes = {mg.saver_def.restore_op_name.split(":")[0], mg.saver_def.save_tensor_name.split(":")[0]}
        saver_roots = [c for n in mg.graph_def.node if n.name in saver_nodes for c in _called(n)]
        other_roots = [c for n in mg.graph_def.node if n.name not in saver_nodes for c in _called(n)]
        strict = _reachable(other_roots, library) | (set(library) - _reachable(saver_roots, library))
        other.update(n.op for n in mg.graph_def.node)
        for name, fn in library.items():
            (other if name in strict else saver).update(n.op for n in fn.node_def)
        calls = set(library)
        saver, other = saver - calls, other - calls
    return saver, other


def check_saved_model_ops(path):
    """Refuse, before anything of it runs, a SavedModel whose graph (every function, not
    just the signatures) uses an op outside what kerastego exports use (file I/O, Python
    callbacks, summary writers, ...; the checkpoint ops only inside the saver's own
    functions): one line naming the ops and `--trust_model`."""
    from kerastego.export.allowed_ops import FUNCTION_OPS, SAVER_OPS
    try:
        saver, other = saved_model_op_places(path)
    except Exception as e:   # a protobuf that does not parse: DecodeError, OSError...
        raise UntrustedModelError(f"{path}: saved_model.pb does not parse ({e.__class__.__name__})") from e
    foreign = sorted((other - FUNCTION_OPS) | (saver - FUNCTION_OPS - SAVER_OPS))
    if foreign:
        raise UntrustedModelError(f"{path}: the graph uses ops no kerastego export uses ({', '.join(foreign)}); "
                                  "not loaded (--trust_model loads it anyway)")
    return sorted(saver | other)
