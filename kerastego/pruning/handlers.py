"""What each layer type does to channels, in one place per type (as Torch-Pruning's
pruner box does): how its output channels relate to its inputs' (the analysis), whether
it reads channels that pruning removes (a consumer), how to slice its weights to kept
channels (rebuild with weights), how to mask them (simulated pruning) and how to
narrow its config, and which tf-keras layer it is rebuilt as for the tfmot baseline
(its twin). A new layer type is one `register_handler` call.

A layer without a handler is "not understood": the channels feeding it are left unpruned
and the layer is reported, never silently skipped.
"""
import dataclasses

import keras

from kerastego.layers import (Abs, CaffeAvgPool2D, DCTConv, JpegDecompress, LevelShift, QuantizeTruncate,
                              ModelRecord, Truncate)


class Handler:
    """Defaults: a layer that starts a new, fixed channel space and has no prunable weights."""
    consumer = False          # reads channels that pruning may remove (its input weights shrink)
    producer = False          # its output channels may be pruned (a plain conv)

    def segments(self, graph, layer, ins):
        """The layer's output as [[channel space, n channels], ...] given its inputs'."""
        return [[graph.new_space(layer.output.shape[-1], fixed=True), layer.output.shape[-1]]]

    def slice(self, graph, layer, weights, keep):
        return weights

    def mask(self, layer, weights, removed):
        return weights

    def narrow(self, layer_config, width):
        pass


class PassThrough(Handler):
    """Per-channel layers: activations, pooling, Q&T, |.|... channels pass unchanged."""

    def segments(self, graph, layer, ins):
        return [list(s) for s in ins[0]]


class PerChannelWeights(PassThrough):
    """BatchNormalization: one value per channel in every weight."""

    def slice(self, graph, layer, weights, keep):
        idx = graph.kept_channels(layer.name, keep)
        return [w[idx] for w in weights]


class Conv(Handler):
    """A plain Conv2D: a new prunable channel space; reads its input channels."""
    consumer = producer = True

    def segments(self, graph, layer, ins):
        return [[graph.new_space(layer.filters, owner=layer.name), layer.filters]]

    def slice(self, graph, layer, weights, keep):
        out_idx = graph.kept_channels(layer.name, keep)
        in_idx = graph.input_channels(layer.name, keep)
        return [weights[0][:, :, in_idx][..., out_idx]] + ([weights[1][out_idx]] if len(weights) > 1 else [])

    def mask(self, layer, weights, removed):
        weights = [w.copy() for w in weights]
        weights[0][:, :, removed, :] = 0
        return weights

    def narrow(self, layer_config, width):
        layer_config["config"]["filters"] = width


class Dense(Handler):
    """Dense: reads its input channels (rows); its outputs are never pruned."""
    consumer = True

    def slice(self, graph, layer, weights, keep):
        return [weights[0][graph.input_channels(layer.name, keep)]] + weights[1:]

    def mask(self, layer, weights, removed):
        weights = [w.copy() for w in weights]
        weights[0][removed, :] = 0
        return weights


class Add(Handler):
    """Add: its inputs must share widths and channel sets: their spaces merge into one group."""

    def segments(self, graph, layer, ins):
        for other in ins[1:]:
            if [s[1] for s in other] != [s[1] for s in ins[0]]:
                graph.unsupported.append((layer.name, "Add of tensors with different channel layouts"))
            for a, b in zip(ins[0], other):
                graph.union(a[0], b[0])
        return [list(s) for s in ins[0]]


class Concatenate(Handler):
    """Concatenate on channels: the inputs' spaces side by side."""

    def segments(self, graph, layer, ins):
        if layer.axis not in (-1, 3):
            return graph.not_understood(layer, ins)
        return [list(s) for seg in ins for s in seg]


class Flatten(Handler):
    """NHWC flatten: index = position * C + channel, so the channel layout repeats per position."""

    def segments(self, graph, layer, ins):
        shape = layer.input.shape
        positions = int(shape[1] * shape[2]) if len(shape) == 4 else 1
        return [list(s) for _ in range(positions) for s in ins[0]]


@dataclasses.dataclass(frozen=True)
class Twin:
    """The tf-keras layer class a type is rebuilt as (bin/tfmot_baseline, which needs
    legacy tf-keras) and the config keys carried over."""
    name: str
    keys: tuple = ()


IDENTITY = "identity"     # a Twin name: the layer is left out of the tf-keras model
_HANDLERS = {}
_TWINS = {}


def register_handler(layer_type, handler, twin=None):
    """Handle `layer_type` (exactly that class, not subclasses: a subclass may change
    what happens to channels) with `handler`; `twin`: its tf-keras counterpart, if any."""
    _HANDLERS[layer_type] = handler
    if twin is not None:
        _TWINS[layer_type] = twin


def handler_for(layer):
    """The layer's handler, or None when the layer type is not understood."""
    return _HANDLERS.get(type(layer))


def tf_keras_twin(layer):
    """The layer's Twin, or None when the tfmot baseline cannot rebuild it."""
    return _TWINS.get(type(layer))


_POOL = ("pool_size", "strides", "padding")
_BN = Twin("BatchNormalization", ("momentum", "epsilon", "center", "scale"))
for _t, _twin in ((keras.layers.ReLU, Twin("ReLU")), (keras.layers.Activation, None), (keras.layers.LeakyReLU, None),
                  (keras.layers.AveragePooling2D, Twin("AveragePooling2D", _POOL)),
                  (keras.layers.MaxPooling2D, Twin("MaxPooling2D", _POOL)), (keras.layers.Dropout, None),
                  (keras.layers.ZeroPadding2D, Twin("ZeroPadding2D", ("padding",))),
                  (keras.layers.SpatialDropout2D, None),
                  (keras.layers.GlobalAveragePooling2D, Twin("GlobalAveragePooling2D")),
                  (keras.layers.GlobalMaxPooling2D, None), (Abs, None), (CaffeAvgPool2D, None), (LevelShift, None),
                  (QuantizeTruncate, None), (ModelRecord, Twin(IDENTITY)), (Truncate, None)):
    register_handler(_t, PassThrough(), _twin)
register_handler(keras.layers.BatchNormalization, PerChannelWeights(), _BN)
_CONV = Twin("Conv2D", ("filters", "kernel_size", "strides", "padding", "use_bias", "activation"))
register_handler(keras.layers.Conv2D, Conv(), _CONV)
register_handler(keras.layers.Dense, Dense(), Twin("Dense", ("units", "activation", "use_bias")))
register_handler(keras.layers.Add, Add(), Twin("Add"))
register_handler(keras.layers.Concatenate, Concatenate(), Twin("Concatenate", ("axis",)))
register_handler(keras.layers.Flatten, Flatten(), Twin("Flatten"))
register_handler(keras.layers.InputLayer, Handler(), Twin("InputLayer"))
for _t in (DCTConv, JpegDecompress):   # frozen stages: fixed channel spaces, no tf-keras twin
    register_handler(_t, Handler())
