"""Sharded pair TFRecords with a train/validation/test split by *source image*.

No source photo (and so no crop of it) lands in two splits; the split is
written to split.json and follows from the seed alone. Shards are written under a
temporary name and renamed, and existing shards are kept, so a re-run after a kill
only writes what is missing.
"""
import functools
import os
import random

from data_tools import parallel
from data_tools.covers import cover_index
from data_tools.embed import stego_index
from data_tools.manifest import record_parameters, report_skipped, write_json
from kerastego.fileio import holds_folder_lock, remove_stale_temporaries, temporary_path


def split_sources(source_counts, fractions, seed):
    """Assign whole sources to splits so pair counts follow `fractions` (dict name -> share)."""
    names = list(fractions)
    total = float(sum(fractions.values()))
    sources = sorted(source_counts)
    random.Random(seed).shuffle(sources)
    n_all = sum(source_counts.values())
    have = {n: 0 for n in names}
    out = {n: [] for n in names}
    for s in sources:
        # the split furthest below its target share gets the next source
        target = {n: fractions[n] / total * n_all for n in names}
        pick = max(names, key=lambda n: (target[n] - have[n]) / max(target[n], 1e-9))
        out[pick].append(s)
        have[pick] += source_counts[s]
    return {n: sorted(v) for n, v in out.items()}


def pair_list(covers_dir, stego_dirs, sources=None):
    """[(cover_id, source, cover_path, stego_path, algorithm, payload)], plus what was skipped.
    With `sources`, covers of other sources are not considered at all."""
    covers = cover_index(covers_dir)
    if sources is not None:
        covers = {k: v for k, v in covers.items() if v["source"] in sources}
    pairs, skipped = [], []
    for sd in stego_dirs:
        meta, stegos = stego_index(sd)
        for cid, cov in sorted(covers.items()):
            spath = stegos.get(cid)
            if spath is None or not os.path.exists(spath):
                skipped.append({"path": cov["path"], "problem": f"cover without its stego in {sd}"})
                continue
            pairs.append((cid, cov["source"], cov["path"], spath, meta["algorithm"], meta["payload"]))
        for cid, spath in stegos.items():
            if cid not in covers and sources is None:
                skipped.append({"path": spath, "problem": "stego without its cover"})
    return pairs, skipped


def _mismatch(c, qt, expect):
    """Why a cover does not belong in a set of one size and quality (None if it does)."""
    from kerastego.models.quality import estimate_quality
    shape, table = expect
    if c.shape != shape:
        return f"cover is {c.shape[1]}x{c.shape[0]}, the set is {shape[1]}x{shape[0]}"
    if tuple(qt.ravel()) != table:
        return (f"cover's quant table (QF~{estimate_quality(qt)}) differs from the set's "
                f"(QF~{estimate_quality(table)})")
    return None


def _set_reference(covers_dir, pairs, sample=64):
    """(shape, quant table) every pair of the set must have: what make_covers recorded
    in covers.json (size, quality), else the most common among the first covers."""
    import collections
    import json
    import numpy as np
    from kerastego.jpeg_io import read_coefficients
    from kerastego.models.quality import table_for_quality
    params = os.path.join(covers_dir, "covers.json")
    if os.path.exists(params):
        with open(params) as f:
            p = json.load(f)
        return (p["size"], p["size"]), tuple(np.asarray(table_for_quality(p["quality"]), np.float32).ravel())
    seen = collections.Counter()
    for pair in pairs[:sample]:
        c, qt, _ = read_coefficients(pair[2])
        seen[(c.shape, tuple(qt.ravel()))] += 1
    return seen.most_common(1)[0][0]


def dataset_id(split, seed, pairs):
    """The dataset's id: a hash of what makes it (its split of source photos, the seed and
    every pair's cover id, algorithm and payload), so the same inputs and settings give the
    same id wherever they are written, and any other dataset another."""
    import hashlib
    import json
    content = {"split": {k: sorted(v) for k, v in split.items()}, "seed": seed,
               "pairs": sorted([p[0], p[4], p[5]] for p in pairs)}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def _write_shard(job, compress, expect, dataset):
    """Write one shard; returns ('ok', {...}) or ('skip', {...}) for bad pairs inside it.
    expect: (shape, quant table) every pair of the set must have; dataset: its id."""
    import tensorflow as tf
    from kerastego.data.schema import serialize_pair
    from kerastego.jpeg_io import JpegError, read_coefficients
    path, pairs = job
    bad, n = [], 0
    tmp = temporary_path(path)
    opts = tf.io.TFRecordOptions(compression_type="GZIP" if compress else "")
    with tf.io.TFRecordWriter(tmp, opts) as w:
        for cid, source, cpath, spath, alg, payload in pairs:
            try:
                c, qt, _ = read_coefficients(cpath)
                s, qs, _ = read_coefficients(spath)
            except JpegError as e:
                bad.append({"path": e.path, "problem": e.problem})
                continue
            if c.shape != s.shape or (qt != qs).any():
                bad.append({"path": spath, "problem": "stego does not match its cover (size or quant table)"})
                continue
            problem = _mismatch(c, qt, expect)
            if problem:
                bad.append({"path": cpath, "problem": problem})
                continue
            w.write(serialize_pair(c, s, qt, cid, source, alg, payload, dataset))
            n += 1
    os.replace(tmp, path)
    return "ok", {"shard": os.path.basename(path), "pairs": n, "bad": bad}


def load_split(path):
    """The source lists of a split.json written by make_tfrecords."""
    import json
    with open(path) as f:
        return json.load(f)["sources"]


@holds_folder_lock("make_tfrecords")
def make_tfrecords(covers_dir, stego_dirs, out_dir, fractions=None, seed=0, pairs_per_shard=256,
                   compress=False, workers=None, runner="local", split=None):
    """Write {split}-NNNNN-of-MMMMM.tfrecord[.gz] shards, split.json and dataset.json.

    split: an existing {name: [sources]} (see load_split) to reuse, so records for
    another algorithm share the same held-out sources; pairs of other sources are left out.
    """
    fractions = fractions or {"train": 0.5, "test": 0.5}
    stego_dirs = [stego_dirs] if isinstance(stego_dirs, str) else list(stego_dirs)
    os.makedirs(out_dir, exist_ok=True)
    for path in remove_stale_temporaries(out_dir):
        print(f"make_tfrecords: removed {path}, left by a killed run")
    given = split          # recorded as given: None means "drawn from fractions and seed"
    known = None if split is None else {s for v in split.values() for s in v}
    pairs, skipped = pair_list(covers_dir, stego_dirs, known)
    if not pairs:
        raise ValueError(f"no cover/stego pairs found in {covers_dir} and {stego_dirs}")
    counts = {}
    for p in pairs:
        counts[p[1]] = counts.get(p[1], 0) + 1
    if split is None:
        split = split_sources(counts, fractions, seed)
        empty = [name for name, sources in split.items() if not sources]
        if empty:
            raise ValueError(f"{covers_dir}: {len(counts)} source photo(s) cannot fill the splits {fractions}: "
                             f"{', '.join(empty)} would get none")
    # shards already on disk belong to these settings: a re-run with others is refused
    record_parameters(os.path.join(out_dir, "records.json"), {
        "covers_dir": os.path.abspath(covers_dir), "stego_dirs": [os.path.abspath(d) for d in stego_dirs],
        "seed": seed, "fractions": fractions if given is None else None, "pairs_per_shard": pairs_per_shard,
        "compress": bool(compress), "sources": given})
    ext = ".tfrecord.gz" if compress else ".tfrecord"
    jobs, summary = [], {}
    for name, sources in split.items():
        members = set(sources)
        sp = sorted(p for p in pairs if p[1] in members)
        random.Random(f"{seed}:{name}").shuffle(sp)
        n_shards = max(1, -(-len(sp) // pairs_per_shard))
        files = []
        for i in range(n_shards):
            path = os.path.join(out_dir, f"{name}-{i:05d}-of-{n_shards:05d}{ext}")
            files.append(os.path.basename(path))
            if not os.path.exists(path):
                jobs.append((path, sp[i::n_shards]))
        summary[name] = {"pairs": len(sp), "sources": len(sources), "shards": files}
    write_json(os.path.join(out_dir, "split.json"), {"seed": seed, "fractions": fractions, "sources": split})
    done = sum(len(v["shards"]) for v in summary.values()) - len(jobs)
    if done:
        print(f"make_tfrecords: {done} shard(s) already written, {len(jobs)} to go")
    expect = _set_reference(covers_dir, pairs)
    dataset = dataset_id(split, seed, pairs)
    fn = functools.partial(_write_shard, compress=compress, expect=expect, dataset=dataset)
    for _, rec in parallel.run(fn, jobs, out_dir, runner=runner, workers=workers, desc="shards"):
        skipped.extend(rec["bad"])
    report_skipped("make_tfrecords", skipped, out_dir)
    h, w = expect[0]
    info = {"dataset_id": dataset, "image_size": [int(h), int(w)], "compressed": bool(compress),
            "algorithms": sorted({p[4] for p in pairs}), "payloads": sorted({p[5] for p in pairs}),
            "splits": summary, "covers_dir": os.path.abspath(covers_dir),
            "stego_dirs": [os.path.abspath(s) for s in stego_dirs]}
    write_json(os.path.join(out_dir, "dataset.json"), info)
    return info
