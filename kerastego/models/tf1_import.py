"""Import a TensorFlow 1 checkpoint of the CALPA-NET authors' SRNet family.

Their code (TF1, Python 2) no longer runs; their checkpoints still read with
`tf.train.load_checkpoint`. Every width is taken from the variable shapes, so the
original SRNet and any CALPA-shrunk one import alike. The variable layout (from the
authors' README in ../shared/authors): scopes Layer1..Layer12 and `ip`; inside a
scope TF1's layers.conv2d names Conv, Conv_1, Conv_2 and layers.batch_norm names
BatchNorm, BatchNorm_1, BatchNorm_2 in creation order. Kernels are HWIO whatever
data format they trained in. Batch norm: tf.contrib's epsilon 0.001.

Anything that does not map (a missing variable, a shape that does not fit, a scope
this importer does not know) is refused with an error naming the variable: a
half-imported detector gives confident wrong answers.
"""
import re

from kerastego.models.srnet import TYPE3_WIDTHS, build_srnet

TF1_BN_EPSILON = 1e-3          # tf.contrib.layers.batch_norm's default
BN_VARIABLES = (("gamma", 0), ("beta", 1), ("moving_mean", 2), ("moving_variance", 3))
# not weights of the network: the step, the authors' input switches, optimizer slots
IGNORED = re.compile(r"^(global_step|data_sel|is_training)$|/Adamax(_\d+)?$|_power$")


class CheckpointImportError(ValueError):
    """A checkpoint that cannot be mapped onto SRNet; names the variable."""


def layer_map():
    """Keras conv layer name -> (TF1 conv scope, TF1 batch-norm scope)."""
    out = {"L1_conv": ("Layer1/Conv", "Layer1/BatchNorm"), "L2_conv": ("Layer2/Conv", "Layer2/BatchNorm")}
    for n in range(3, 8):        # type 2: conv1, conv2
        out[f"L{n}_conv1"] = (f"Layer{n}/Conv", f"Layer{n}/BatchNorm")
        out[f"L{n}_conv2"] = (f"Layer{n}/Conv_1", f"Layer{n}/BatchNorm_1")
    for n in TYPE3_WIDTHS:       # type 3: the 1x1 shortcut is created first
        out[f"L{n}_short"] = (f"Layer{n}/Conv", f"Layer{n}/BatchNorm")
        out[f"L{n}_conv1"] = (f"Layer{n}/Conv_1", f"Layer{n}/BatchNorm_1")
        out[f"L{n}_conv2"] = (f"Layer{n}/Conv_2", f"Layer{n}/BatchNorm_2")
    out["L12_conv1"] = ("Layer12/Conv", "Layer12/BatchNorm")
    out["L12_conv2"] = ("Layer12/Conv_1", "Layer12/BatchNorm_1")
    return out


def _expected_variables():
    names = {"ip/weights", "ip/biases"}
    for conv, bn in layer_map().values():
        names |= {f"{conv}/weights", f"{conv}/biases"} | {f"{bn}/{v}" for v, _ in BN_VARIABLES}
    return names


def read_tf1_checkpoint(prefix):
    """{variable name: numpy array} of the network's variables; refuses unknown ones."""
    import tensorflow as tf
    try:
        reader = tf.train.load_checkpoint(prefix)
    except (tf.errors.NotFoundError, tf.errors.DataLossError, ValueError) as e:
        raise CheckpointImportError(f"{prefix}: not a readable TF checkpoint ({str(e).splitlines()[0]})") from e
    names = {k for k in reader.get_variable_to_shape_map() if not IGNORED.search(k)}
    expected = _expected_variables()
    unknown = sorted(names - expected)
    if unknown:
        raise CheckpointImportError(f"{prefix}: variable {unknown[0]} has no place in SRNet "
                                    f"({len(unknown)} unknown in all: {', '.join(unknown[:5])})")
    missing = sorted(expected - names)
    if missing:
        raise CheckpointImportError(f"{prefix}: variable {missing[0]} is missing "
                                    f"({len(missing)} missing in all: {', '.join(missing[:5])})")
    return {k: reader.get_tensor(k) for k in sorted(names)}


def widths_from_variables(tensors):
    """Output channels of every conv, from its kernel's last dimension."""
    return {name: int(tensors[f"{conv}/weights"].shape[-1]) for name, (conv, _) in layer_map().items()}


def _assign(layer, values, names):
    """Set a layer's weights, refusing (by variable name) any shape that does not fit."""
    for variable, value, name in zip(layer.weights, values, names):
        if tuple(variable.shape) != tuple(value.shape):
            raise CheckpointImportError(f"variable {name} has shape {tuple(value.shape)}, but "
                                        f"{layer.name}.{variable.name} needs {tuple(variable.shape)}")
    layer.set_weights(list(values))


def import_tf1_checkpoint(prefix, input_kind="coefficients", image_size=256, name="calpa_srnet_tf1",
                          bn_epsilon=TF1_BN_EPSILON, training_quality=None):
    """A Keras SRNet-family model with the weights of a TF1 checkpoint (prefix as
    passed to tf.train.Saver, e.g. .../Model_438375.ckpt). The model takes
    `input_kind` inputs of image_size x image_size and outputs softmax probabilities
    (index 1 = stego), as the authors' `ip` logits do. training_quality: the JPEG
    quality the authors trained at (a checkpoint does not say; the released CALPA-SRNet:
    75), recorded so detect flags files of another quality."""
    tensors = read_tf1_checkpoint(prefix)
    try:
        model = build_srnet((image_size, image_size, 1), widths=widths_from_variables(tensors),
                            input_kind=input_kind, name=name)
    except ValueError as e:   # e.g. shortcut-tied widths that disagree
        raise CheckpointImportError(f"{prefix}: the widths in the checkpoint do not form an SRNet: {e}") from e
    for layer_name, (conv, bn) in layer_map().items():
        names = [f"{conv}/weights", f"{conv}/biases"]
        _assign(model.get_layer(layer_name), [tensors[n] for n in names], names)
        names = [f"{bn}/{v}" for v, _ in BN_VARIABLES]
        bn_layer = model.get_layer(f"{layer_name}_bn")
        bn_layer.epsilon = float(bn_epsilon)
        _assign(bn_layer, [tensors[n] for n in names], names)
    _assign(model.get_layer("probabilities"), [tensors["ip/weights"], tensors["ip/biases"]],
            ["ip/weights", "ip/biases"])
    from kerastego.models.quality import table_for_quality
    from kerastego.models.record import with_record
    tables = [table_for_quality(training_quality)] if training_quality is not None else []
    model = with_record(model, "srnet", tables)
    return model
