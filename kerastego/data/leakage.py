"""Warnings about data that would make a score lie: a shard matched twice, one split made
of several datasets (by the dataset id every record and its dataset.json carry), two splits
sharing shards or source photos, and pairs that repeat.

Cheap by design: shards and source photos are compared from file names and each dataset
folder's split.json (make_tfrecords writes which photos went to which split), so the
trainer checks before its first step without reading a record; repeated pairs are counted
from the cover ids a scoring pass reads anyway.
"""
import collections
import json
import os

SPLIT_FILE = "split.json"
DATASET_FILE = "dataset.json"


def _matches(pattern):
    """Every shard a pattern (or list of patterns) matches, a shard matched twice twice."""
    import tensorflow as tf
    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    return [os.path.realpath(f) for p in patterns for f in tf.io.gfile.glob(p)]


def _split_sources(shard):
    """The source photos of the split a shard belongs to (by its folder's split.json and
    its name's split prefix), or None when the folder does not say."""
    folder, name = os.path.split(shard)
    path = os.path.join(folder, SPLIT_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        sources = json.load(f).get("sources", {})
    split = name.split("-", 1)[0]
    return set(sources.get(split, [])) if split in sources else None


def _sources_of(files):
    """The source photos of every split the shards belong to, as far as their folders say."""
    return set().union(*(s for s in map(_split_sources, files) if s is not None))


def shard_warnings(name, pattern):
    """Warnings about one split's shards: matched more than once, or from several datasets."""
    files = _matches(pattern)
    warnings = []
    twice = sorted(f for f, n in collections.Counter(files).items() if n > 1)
    if twice:
        warnings.append(f"{name}: {len(twice)} shard(s) matched more than once (e.g. {twice[0]}): "
                        "their pairs count twice")
    datasets = sorted({_dataset_of(f) for f in files})
    if len(datasets) > 1:
        warnings.append(f"{name}: shards of {len(datasets)} datasets ({', '.join(datasets[:3])}"
                        f"{', ...' if len(datasets) > 3 else ''}): one split mixes datasets")
    return warnings


def _dataset_of(shard):
    """The dataset a shard belongs to: the id its folder's dataset.json records (what every
    record carries), else the folder itself."""
    folder = os.path.dirname(shard)
    try:
        with open(os.path.join(folder, DATASET_FILE)) as f:
            return json.load(f).get("dataset_id") or folder
    except (OSError, ValueError):
        return folder


def overlap_warnings(a_name, a_pattern, b_name, b_pattern):
    """Warnings when two splits share shards or source photos (a score on seen data)."""
    a, b = set(_matches(a_pattern)), set(_matches(b_pattern))
    shared = sorted(a & b)
    if shared:
        return [f"{b_name} shares {len(shared)} of its {len(b)} shard(s) with {a_name} (e.g. {shared[0]}): "
                "it scores data the model trained on"]
    common = sorted(_sources_of(a) & _sources_of(b))
    if common:
        return [f"{b_name} and {a_name} share {len(common)} source photo(s) ({', '.join(common[:5])}"
                f"{', ...' if len(common) > 5 else ''}): their pairs are cut from the same pictures"]
    return []


def repeat_warnings(name, cover_ids):
    """A warning when some pairs occur more than once among `cover_ids`."""
    counts = collections.Counter(cover_ids)
    repeated = {k: n for k, n in counts.items() if n > 1}
    if not repeated:
        return []
    worst = max(repeated, key=repeated.get)
    worst = worst.decode(errors="replace") if isinstance(worst, bytes) else worst
    return [f"{name}: {len(repeated)} pair(s) occur more than once (up to {max(repeated.values())} times, "
            f"e.g. {worst!r}): the score counts them again"]
