"""CALPA-NET Algorithm 1: bottom-up search of per-layer pruning rates.

For each prunable group (bottom-up), raise its rate gamma by epsilon while neither
the accuracy drop since the previous step nor the drop since the unpruned model
exceeds sigma, then roll back one step. Channels are ranked once per group (ThiNet
or l1), so each step only re-evaluates accuracy; pruning is simulated by zeroing
the consumers' weights of removed channels, which computes exactly what the slim
model computes. Layers below the group being searched are fixed, so the activations
entering the lowest layer it touches are computed once per group and only the part
of the network above them is re-run at each step.
"""
import dataclasses
import time

import keras
import numpy as np

from kerastego.models.calpa_srnet import kept_count
from kerastego.pruning.criteria import l1_removal_order, thinet_contributions, thinet_removal_order
from kerastego.pruning.graph import ChannelGraph
from kerastego.pruning.rebuild import masked_weights


@dataclasses.dataclass
class SearchResult:
    rates: dict            # group name -> gamma
    keep: dict             # group gid -> kept channel indices
    groups: list           # the ChannelGraph groups searched
    base_accuracy: float
    steps: list            # per evaluation: group, gamma, accuracy, accepted
    skipped: list          # (group, reason) not searched
    seconds: float


def _predict_accuracy(fn, inputs, labels, batch):
    n = len(labels)
    correct = 0
    for i in range(0, n, batch):
        p = np.asarray(fn(_slice(inputs, i, batch)))
        correct += int(np.sum(np.argmax(p, -1) == labels[i:i + batch]))
    return correct / n


class _Evaluator:
    """Accuracy of the model above a fixed cut, on cached activations."""

    def __init__(self, model, cut_layer, inputs, labels, batch):
        self.labels, self.batch = labels, batch
        self.sub = None
        if cut_layer is not None:
            try:
                self.sub = keras.Model(model.get_layer(cut_layer).output, model.output)
                features = keras.Model(model.input, model.get_layer(cut_layer).output)
                self.cached = np.concatenate([np.asarray(features(_slice(inputs, i, batch), training=False))
                                              for i in range(0, len(labels), batch)])
            except ValueError:   # the part above is not a single-input graph: run the whole model
                self.sub = None
        self.model, self.inputs = model, inputs

    def __call__(self):
        if self.sub is not None:
            return _predict_accuracy(lambda x: self.sub(x, training=False), self.cached, self.labels, self.batch)
        return _predict_accuracy(lambda x: self.model(x, training=False), self.inputs, self.labels, self.batch)


def _slice(inputs, i, batch):
    return {k: v[i:i + batch] for k, v in inputs.items()} if isinstance(inputs, dict) else inputs[i:i + batch]


def rank_channels(model, graph, group, inputs, batch, samples=2000, images=64, seed=0):
    """Removal order of a group's channels by its criterion."""
    if group.criterion == "l1":
        return l1_removal_order(model.get_layer(group.decider).get_weights()[0])
    nxt = model.get_layer(group.thinet_consumer)
    feed = keras.Model(model.input, nxt.input)
    acts = np.concatenate([np.asarray(feed(_slice(inputs, i, batch), training=False))
                           for i in range(0, min(images, len(_first(inputs))), batch)])
    x = thinet_contributions(acts, nxt.get_weights()[0], nxt.strides, nxt.padding, samples,
                             channels=graph.channels_of_group(nxt.name, group.gid), seed=seed)
    return thinet_removal_order(x)


def _first(inputs):
    return next(iter(inputs.values())) if isinstance(inputs, dict) else inputs


def search(model, inputs, labels, epsilon=0.05, sigma=0.05, batch=32, samples=2000, thinet_images=64,
           seed=0, verbose=1):
    """Run Algorithm 1 on a trained functional model with validation (inputs, labels).

    Returns a SearchResult; the model's weights are restored afterwards.
    """
    if not 0.0 < epsilon < 1.0:
        raise ValueError(f"epsilon (the rate step) must be in (0, 1), got {epsilon}")
    if not 0.0 <= sigma <= 1.0:
        raise ValueError(f"sigma (the tolerated accuracy drop) must be in [0, 1], got {sigma}")
    t0 = time.time()
    graph = ChannelGraph(model)
    groups = graph.groups()
    original = {l.name: l.get_weights() for l in model.layers if l.weights}
    labels = np.asarray(labels)
    base = _predict_accuracy(lambda x: model(x, training=False), inputs, labels, batch)
    if verbose:
        print(f"calpa: unpruned validation accuracy {base:.4f} on {len(labels)} images")
    keep, rates, steps = {}, {}, []
    skipped = [(n, r) for n, r in graph.unsupported]

    def apply(keep_now):
        for name, w in original.items():
            model.get_layer(name).set_weights(w)
        for name, w in masked_weights(model, keep_now, graph).items():
            model.get_layer(name).set_weights(w)

    try:
        prev_acc = base
        for group in groups:
            if not group.prunable or group.width <= 1:
                skipped.append((group.name, "; ".join(group.reasons) or "width 1"))
                continue
            apply(keep)
            order = rank_channels(model, graph, group, inputs, batch, samples, thinet_images, seed)
            lowest = min(group.consumers, key=graph.order.index)
            (cut,) = graph.parents[lowest]
            evaluate = _Evaluator(model, cut, inputs, labels, batch)
            gamma, acc_at_gamma = 0.0, prev_acc
            while True:
                trial = round(gamma + epsilon, 10)
                k = kept_count(group.width, trial)
                if trial >= 1.0 or k == kept_count(group.width, gamma) and k == 1:
                    break
                kept = sorted(order[group.width - k:])
                apply({**keep, group.gid: kept})
                acc = evaluate()
                ok = (acc_at_gamma - acc <= sigma) and (base - acc <= sigma)
                steps.append({"group": group.name, "criterion": group.criterion, "gamma": trial, "kept": k,
                              "accuracy": acc, "accepted": ok})
                if not ok:
                    break   # roll back one step: keep the last accepted gamma
                gamma, acc_at_gamma = trial, acc
            rates[group.name] = gamma
            k = kept_count(group.width, gamma)
            if k < group.width:
                keep[group.gid] = sorted(order[group.width - k:])
            prev_acc = acc_at_gamma
            if verbose:
                print(f"calpa: {group.name:<16} {group.criterion:<6} K={group.width:<4} gamma={gamma:.2f} "
                      f"kept={k:<4} acc={acc_at_gamma:.4f}", flush=True)
    finally:
        for name, w in original.items():
            model.get_layer(name).set_weights(w)
    return SearchResult(rates, keep, groups, base, steps, skipped, time.time() - t0)


def uniform_keep(model, gamma, graph=None, inputs=None, batch=32):
    """Every prunable group at the same rate (the AGGR / AVG baselines), channels by l1."""
    graph = graph or ChannelGraph(model)
    keep = {}
    for g in graph.groups():
        if g.prunable:
            k = kept_count(g.width, gamma)
            order = l1_removal_order(model.get_layer(g.decider).get_weights()[0])
            if k < g.width:
                keep[g.gid] = sorted(order[g.width - k:])
    return keep


def aggr_avg_rates(rates):
    """AGGR: every layer at the smallest rate found; AVG: at the mean rate (SPEC, section 5)."""
    values = list(rates.values())
    return {"aggr": float(min(values)), "avg": float(np.mean(values))}
