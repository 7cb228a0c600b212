"""Rebuild a functional model with fewer channels: fresh weights (CALPA-NET trains
the slim architecture from scratch) or the surviving weights copied (the
training-pruning-finetuning baseline)."""
import keras
import numpy as np

from kerastego.pruning.graph import ChannelGraph


def _slice_weights(layer, old, graph, keep):
    if type(layer) is keras.layers.Conv2D:
        out_idx = graph.kept_channels(layer.name, keep)
        in_idx = graph.input_channels(layer.name, keep)
        w = [old[0][:, :, in_idx][..., out_idx]]
        return w + ([old[1][out_idx]] if len(old) > 1 else [])
    if isinstance(layer, keras.layers.Dense):
        return [old[0][graph.input_channels(layer.name, keep)]] + old[1:]
    if isinstance(layer, keras.layers.BatchNormalization):
        idx = graph.kept_channels(layer.name, keep)
        return [v[idx] for v in old]
    return old


def rebuild(model, keep, copy_weights=False, graph=None):
    """New model with group gid -> kept channel indices `keep` (sorted lists)."""
    graph = graph or ChannelGraph(model)
    config = model.get_config()
    for layer_cfg in config["layers"]:
        layer_cfg.pop("build_config", None)   # shapes are re-inferred from the new widths
        name = layer_cfg["name"]
        if layer_cfg["class_name"] == "Conv2D" and graph.root_of(name) in keep:
            layer_cfg["config"]["filters"] = len(keep[graph.root_of(name)])
    new = model.__class__.from_config(config)
    if copy_weights:
        for layer in new.layers:
            old = model.get_layer(layer.name).get_weights()
            if old:
                layer.set_weights(_slice_weights(layer, old, graph, keep))
    return new


def masked_weights(model, keep, graph=None):
    """{layer name: weights} where consumers' weights for removed channels are zero:
    the original model with those weights computes what the slim copied model computes."""
    graph = graph or ChannelGraph(model)
    out = {}
    for layer in model.layers:
        if type(layer) not in (keras.layers.Conv2D, keras.layers.Dense):
            continue
        full = graph.input_channels(layer.name, {})
        kept = set(graph.input_channels(layer.name, keep))
        if len(kept) == len(full):
            continue
        w = [v.copy() for v in layer.get_weights()]
        removed = np.array([i for i in full if i not in kept])
        if type(layer) is keras.layers.Conv2D:
            w[0][:, :, removed, :] = 0
        else:
            w[0][removed, :] = 0
        out[layer.name] = w
    return out


def widths(model):
    """Output channels of every Conv2D, by name."""
    return {l.name: int(l.filters) for l in model.layers if type(l) is keras.layers.Conv2D}
