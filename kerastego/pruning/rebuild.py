"""Rebuild a functional model with fewer channels: fresh weights (CALPA-NET trains
the slim architecture from scratch) or the surviving weights copied (the
training-pruning-finetuning baseline). Per-layer work is the layer handler's."""
import numpy as np

from kerastego.pruning.graph import ChannelGraph
from kerastego.pruning.handlers import handler_for


def rebuild(model, keep, copy_weights=False, graph=None):
    """New model with group gid -> kept channel indices `keep` (sorted lists)."""
    graph = graph or ChannelGraph(model)
    config = model.get_config()
    for layer_cfg in config["layers"]:
        layer_cfg.pop("build_config", None)   # shapes are re-inferred from the new widths
        handler = handler_for(model.get_layer(layer_cfg["name"]))
        root = graph.root_of(layer_cfg["name"]) if handler and handler.producer else None
        if root in keep:
            handler.narrow(layer_cfg, len(keep[root]))
    new = model.__class__.from_config(config)
    if copy_weights:
        for layer in new.layers:
            old = model.get_layer(layer.name).get_weights()
            handler = handler_for(layer)
            if old and handler:
                layer.set_weights(handler.slice(graph, layer, old, keep))
    return new


def masked_weights(model, keep, graph=None):
    """{layer name: weights} where consumers' weights for removed channels are zero:
    the original model with those weights computes what the slim copied model computes."""
    graph = graph or ChannelGraph(model)
    out = {}
    for layer in model.layers:
        handler = handler_for(layer)
        if not (handler and handler.consumer):
            continue
        full = graph.input_channels(layer.name, {})
        kept = set(graph.input_channels(layer.name, keep))
        if len(kept) == len(full):
            continue
        removed = np.array([i for i in full if i not in kept])
        out[layer.name] = handler.mask(layer, layer.get_weights(), removed)
    return out


def widths(model):
    """Output channels of every prunable conv, by name."""
    return {l.name: int(l.filters) for l in model.layers if getattr(handler_for(l), "producer", False)}
