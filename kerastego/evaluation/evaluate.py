"""Evaluate one or several trained detectors on a TFRecord split: metrics per
model and for the ensemble, a ROC PNG and a JSON report."""
import json
import os
import weakref

import numpy as np
import tensorflow as tf

from kerastego.conventions import TTA_VIEWS
from kerastego.data import DataError, count_and_check, make_dataset, quant_tables_of
from kerastego.data.augment import dihedral_batch
from kerastego.data.leakage import overlap_warnings, repeat_warnings, shard_warnings
from kerastego.evaluation.ensemble import align_members, majority_vote, mean_probability
from kerastego.evaluation.metrics import summarize
from kerastego.evaluation.plots import plot_roc
from kerastego.models.inputs import model_input
from kerastego.models.precision import with_precision
from kerastego.models.quality import quality_warning, training_tables
from kerastego.models.saving import load_model as load_saved_model
from kerastego.fileio import read_versioned_json, write_json


def predict_split(model, pattern, batch_pairs=32, views=1, allow_partial=False, jit_compile=False):
    """(stego probabilities, labels, ids) of a model on every pair of a split.
    views > 1 averages the stego probability over that many exact rot/flip views of
    each image (2: + left-right flip; 4: + up-down flip and rot180; 8: all eight):
    a steganalyser's evidence is noise-like, so views give partly fresh evidence."""
    if views not in TTA_VIEWS:
        raise ValueError(f"views must be one of {TTA_VIEWS}, got {views}")
    kind, size = model_input(model)
    ds = make_dataset(pattern, batch_pairs, training=False, image_size=size, input_kind=kind, with_ids=True)
    predict = _predict_function(model, jit_compile)
    probs, labels, ids = [], [], []
    try:
        for x, y, i in ds:
            probs.append(np.mean([predict(dihedral_batch(x, op)).numpy()[:, 1] for op in range(views)], axis=0))
            labels.append(y.numpy())
            ids.extend(v.decode() for v in i.numpy())
    except tf.errors.DataLossError as e:
        count_and_check(pattern)           # raises DataError naming the cut shard
        raise DataError(f"{pattern}: read error after {len(ids)} images ({e.message.splitlines()[0]})") from e
    if not probs:
        raise ValueError(f"{pattern}: no pairs to evaluate")
    _check_complete(pattern, len(ids) // 2, allow_partial)
    return np.concatenate(probs), np.concatenate(labels), ids


_PREDICT_FUNCTIONS = weakref.WeakKeyDictionary()


def _predict_function(model, jit_compile):
    """The model's inference tf.function, one per (model, jit_compile) for the model's
    lifetime: a trainer validates the same model many times, and a fresh tf.function
    would retrace (seconds) at every validation. The function holds the model weakly,
    so the cache never keeps a model alive."""
    functions = _PREDICT_FUNCTIONS.setdefault(model, {})
    if jit_compile not in functions:
        ref = weakref.ref(model)
        functions[jit_compile] = tf.function(lambda x: ref()(x, training=False), jit_compile=jit_compile)
    return functions[jit_compile]


def _check_complete(pattern, pairs, allow_partial):
    """Compare the pairs read with the count dataset.json lists for this split (when the
    records came from make_tfrecords): a missing shard, or one cut exactly at a record
    boundary, reads without any error."""
    info_path = os.path.join(os.path.dirname(pattern), "dataset.json")
    split = os.path.basename(pattern).split("-")[0]
    if not os.path.exists(info_path):
        return
    with open(info_path) as f:
        expected = json.load(f).get("splits", {}).get(split, {}).get("pairs")
    if expected is None or pairs == expected:
        return
    message = f"{pattern}: read {pairs} of the {expected} pairs dataset.json lists for {split!r}"
    if not allow_partial:
        raise DataError(message + " (a shard is missing or cut; --allow_partial scores what is there)")
    print(f"evaluate: WARNING {message}; scoring those {pairs}")


def _quality_warning(model, test_tables):
    """The first test table the model was not trained on, as a warning (None if all match)."""
    tables = training_tables(model)
    warnings = [w for w in (quality_warning(t, tables) for t in test_tables) if w]
    return warnings[0] if warnings else None


def _check_finite(probabilities, name, test_data):
    """No metric is given on non-finite probabilities (a diverged model): ValueError naming
    the model, the split and how many."""
    p = np.asarray(probabilities, np.float64)
    bad = int(np.sum(~(np.isfinite(p) & (p >= 0) & (p <= 1))))
    if bad:
        raise ValueError(f"{name}: {bad} of {p.size} probabilities on {test_data} are not finite numbers in [0, 1]: "
                         "no metrics (the model's weights may have diverged)")


def _trained_on_warnings(name, path, test_data):
    """Warnings when the test split shares shards or photos with what the model trained on,
    as the run.json beside a trainer's best/final .keras records it."""
    run = os.path.join(os.path.dirname(path), "run.json") if isinstance(path, str) else None
    if not run or not os.path.exists(run):
        return []
    train_data = read_versioned_json(run, "a run record").get("train_data")
    return overlap_warnings(f"{name}'s training data", train_data, "test_data", test_data) if train_data else []


def evaluate(model_paths, test_data, out_dir=None, names=None, batch_pairs=32, thresholds=None, views=1,
             allow_partial=False, mixed_precision="off"):
    """Metrics for each model and, with several models, the majority-vote and
    mean-probability ensembles. Writes report.json and roc.png into out_dir.
    thresholds: per model, a decision threshold chosen on validation data (optional).
    views: test-time rot/flip views averaged per image (see predict_split).
    mixed_precision: the precision .keras models compute in (models.precision)."""
    names = names or [os.path.basename(os.path.dirname(p)) or os.path.basename(p) for p in model_paths]
    report, curves, members = {"test_data": test_data, "views": views, "models": {}}, {}, []
    thresholds = thresholds or [None] * len(model_paths)
    test_tables = None   # the test set's JPEG qualities: read once, after the split read cleanly
    report["data_warnings"] = shard_warnings("test_data", test_data)
    for name, path, threshold in zip(names, model_paths, thresholds):
        report["data_warnings"] += _trained_on_warnings(name, path, test_data)
        model = with_precision(load_saved_model(path) if isinstance(path, str) else path, mixed_precision)
        p, y, i = predict_split(model, test_data, batch_pairs, views, allow_partial)
        _check_finite(p, name, test_data)
        if not members:
            report["data_warnings"] += repeat_warnings("test_data", list(i[::2]))   # ids come per image, 2 a pair
        members.append((p, y, i))
        report["models"][name] = summarize(p, y, threshold)
        test_tables = quant_tables_of(test_data) if test_tables is None else test_tables
        report["models"][name]["quality_warning"] = _quality_warning(model, test_tables)
        curves[name] = (p, y)
    if len(members) > 1:
        probs, labels, _ = align_members(members, names)
        vote = majority_vote(probs)
        mean = mean_probability(probs)
        report["ensemble_majority_vote"] = summarize(vote, labels)
        report["ensemble_mean_probability"] = summarize(mean, labels)
        curves["ensemble (mean prob.)"] = (mean, labels)
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        write_json(os.path.join(out_dir, "report.json"), report, indent=2)
        plot_roc(curves, os.path.join(out_dir, "roc.png"), title=f"ROC on {os.path.basename(test_data)}")
    return report


def format_report(report):
    rows = [("model", "acc@0.5", "acc@val-thr", "P_E", "PFA@PD50", "AUC", "n")]
    entries = dict(report["models"])
    for k in ("ensemble_majority_vote", "ensemble_mean_probability"):
        if k in report:
            entries[k] = report[k]
    for name, m in entries.items():
        at = f"{m['accuracy_at_threshold']:.4f}" if "accuracy_at_threshold" in m else "-"
        rows.append((name, f"{m['accuracy']:.4f}", at, f"{m['p_e']:.4f}", f"{m['pfa_at_pd50']:.4f}",
                     f"{m['auc']:.4f}", str(m["n"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    warnings = [f"WARNING {name}: {m['quality_warning']}" for name, m in report["models"].items()
                if m.get("quality_warning")] + [f"WARNING {w}" for w in report.get("data_warnings", [])]
    return "\n".join(["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows] + warnings)
