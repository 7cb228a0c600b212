"""Stego images from covers with conseal's simulators, at a payload in bpnzAC.

The stego JPEG keeps every table and marker of its cover; only luminance
coefficients change, and they are read back to check they equal the simulator's
output. Each image's seed is recorded, so any stego image can be regenerated.
"""
import functools
import hashlib
import os

import numpy as np

from data_tools import parallel
from data_tools.covers import cover_index
from data_tools.manifest import (ManifestError, inside, numbered_records, plain_name, read_jsonl, record_parameters,
                                 repair_jsonl)
from kerastego.fileio import holds_folder_lock, remove_stale_temporaries
from kerastego.jpeg_io import JpegError, blocks_to_plane, plane_to_blocks, read_coefficients, write_coefficients

ALGORITHMS = ("j-uniward", "uerd", "nsf5", "ebs")
MANIFEST = "stego.jsonl"


def image_seed(base_seed, cover_id):
    """A stable per-image seed from the job seed and the cover id."""
    return int(hashlib.sha256(f"{base_seed}:{cover_id}".encode()).hexdigest()[:8], 16)


def count_nzac(coefficients):
    """Non-zero AC coefficients of an (H, W) plane (DC terms sit at rows/cols % 8 == 0)."""
    c = np.asarray(coefficients)
    dc = c[::8, ::8]
    return int(np.count_nonzero(c) - np.count_nonzero(dc))


def simulate(algorithm, coefficients, quant_table, payload, seed):
    """Stego coefficients (H, W) int16 for one cover. payload in bits per nzAC."""
    import conseal
    y0 = plane_to_blocks(np.asarray(coefficients, np.int16))
    qt = np.asarray(quant_table, np.float64)
    if algorithm == "j-uniward":
        x0 = conseal.tools.decompress_channel(y0, qt)
        y1 = conseal.juniward.simulate_single_channel(x0, y0, qt, payload, seed=seed)
    elif algorithm == "uerd":
        y1 = conseal.uerd.simulate_single_channel(y0, qt, payload, seed=seed)
    elif algorithm == "nsf5":
        y1 = conseal.nsF5.simulate_single_channel(y0, payload, seed=seed)
    elif algorithm == "ebs":
        # conseal's EBS takes bits per coefficient: convert from bpnzAC.
        alpha = payload * count_nzac(coefficients) / y0.size
        y1 = conseal.ebs.simulate_single_channel(y0, qt, alpha, seed=seed)
    else:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    return blocks_to_plane(np.asarray(y1, np.int16))


def _embed_one(job, out_dir, algorithm, payload, base_seed):
    cover_id, cover_path = job
    try:
        c, qt, _ = read_coefficients(cover_path)
    except JpegError as e:
        return "skip", {"path": e.path, "problem": e.problem}
    nzac = count_nzac(c)
    if nzac == 0:
        return "skip", {"path": cover_path, "problem": "no non-zero AC coefficients: nothing to embed into"}
    seed = image_seed(base_seed, cover_id)
    s = simulate(algorithm, c, qt, payload, seed)
    name = f"{cover_id}.jpg"
    path = os.path.join(out_dir, name)
    write_coefficients(path, s, cover_path)
    back, _, _ = read_coefficients(path)
    if not np.array_equal(back, s):
        os.remove(path)
        return "skip", {"path": path, "problem": "written stego coefficients differ from the simulator's"}
    return "ok", {"cover_id": cover_id, "file": name, "seed": seed, "nzac": nzac,
                  "changes": int(np.count_nonzero(back != c))}


@holds_folder_lock("embed")
def embed(covers_dir, out_dir, algorithm, payload, seed=0, workers=None, runner="local", sources=None):
    """Embed every cover of covers_dir (or only those of the given sources); resumable.
    Returns the stego manifest records."""
    algorithm = algorithm.lower()
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    if not 0 < payload <= 1:
        raise ValueError(f"payload must be in (0, 1] bpnzAC, got {payload}")
    os.makedirs(out_dir, exist_ok=True)
    remove_stale_temporaries(out_dir)
    record_parameters(os.path.join(out_dir, "stego.json"), {"algorithm": algorithm, "payload": payload, "seed": seed,
                                                            "covers_dir": os.path.abspath(covers_dir)})
    manifest = os.path.join(out_dir, MANIFEST)
    repair_jsonl(manifest)
    done = {r["cover_id"] for r in read_jsonl(manifest)}
    covers = cover_index(covers_dir)
    todo = [(cid, v["path"]) for cid, v in sorted(covers.items())
            if cid not in done and (sources is None or v["source"] in sources)]
    if done:
        print(f"embed: {len(done)} stego image(s) already done, {len(todo)} to go")
    fn = functools.partial(_embed_one, out_dir=out_dir, algorithm=algorithm, payload=payload, base_seed=seed)
    return parallel.run_into_manifest("embed", fn, todo, manifest, out_dir, runner, workers, f"embed {algorithm}")


def stego_index(stego_dir):
    """(meta, cover_id -> stego path) of an embed output folder."""
    import json
    meta_path = os.path.join(stego_dir, "stego.json")
    if not os.path.exists(meta_path):
        raise FileNotFoundError(f"{stego_dir}: no stego.json (run embed first)")
    with open(meta_path) as f:
        meta = json.load(f)
    manifest = os.path.join(stego_dir, MANIFEST)
    index = {}
    for number, r in numbered_records(manifest):
        where = f"{manifest}:{number}"
        try:
            index[plain_name(r["cover_id"], where, "cover_id")] = inside(stego_dir, r["file"], where, "file")
        except (KeyError, TypeError) as e:
            raise ManifestError(f"{where}: the record lacks {e} (not an embed manifest)") from None
    return meta, index
