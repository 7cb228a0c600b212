"""Cover images: crop source photos, convert to grey, compress at a quality factor.

Each source image yields one or more covers (left-top crop as in the papers, a
centre crop, or a grid of tiles); the manifest keeps source -> covers so splits
can be made by source image.
"""
import functools
import os

import numpy as np

from data_tools import parallel
from data_tools.images import load_grayscale
from data_tools.manifest import (ManifestError, inside, numbered_records, plain_name, read_jsonl, record_parameters,
                                 repair_jsonl)
from kerastego.fileio import holds_folder_lock, remove_stale_temporaries, temporary_path

CROPS = ("left-top", "center", "tiles")
MANIFEST = "covers.jsonl"


def sources_from_folder(folder):
    """(source, path) for every file under folder; the source is its relative path."""
    out = []
    for root, _, files in os.walk(folder):
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = os.path.join(root, name)
            rel = os.path.splitext(os.path.relpath(path, folder))[0]
            out.append((rel.replace(os.sep, "_"), path))
    if not out:
        raise ValueError(f"{folder}: no files found")
    return sorted(out)


def crop_boxes(h, w, size, crop, stride=None):
    """(row, col) of each size x size crop. Tiles and left-top keep the 8x8 JPEG grid."""
    if crop == "left-top":
        return [(0, 0)]
    if crop == "center":
        return [((h - size) // 2, (w - size) // 2)]
    if crop == "tiles":
        stride = stride or size
        return [(r, c) for r in range(0, h - size + 1, stride) for c in range(0, w - size + 1, stride)]
    raise ValueError(f"crop must be one of {CROPS}, got {crop!r}")


def _write_jpeg(path, pixels, quality):
    import jpeglib
    tmp = temporary_path(path)
    jpeglib.from_spatial(np.ascontiguousarray(pixels)[..., None]).write_spatial(tmp, qt=int(quality))
    os.replace(tmp, path)


def _spread(items, limit):
    """At most `limit` items spread evenly over the list (keeps big photos from dominating)."""
    if not limit or len(items) <= limit:
        return items
    idx = np.linspace(0, len(items) - 1, limit).round().astype(int)
    return [items[i] for i in sorted(set(idx))]


def image_ids(sources):
    """path -> an id unique per source *path*, the prefix of its covers' ids: the source
    name when it has one path, else source-stem, and a short hash of the path where
    names still collide (IMG_1.jpg beside IMG_1.png, case/evid.jpg beside case_evid.jpg)."""
    import hashlib
    paths_of = {}
    for source, path in sources:
        paths_of.setdefault(source, []).append(path)
    ids = {path: source if len(paths) == 1 else f"{source}-{os.path.splitext(os.path.basename(path))[0]}"
           for source, paths in paths_of.items() for path in paths}
    counts = {}
    for i in ids.values():
        counts[i] = counts.get(i, 0) + 1
    return {path: i if counts[i] == 1 else f"{i}-{hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:6]}"
            for path, i in ids.items()}


def _covers_for_source(job, out_dir, size, crop, stride, quality, min_std, max_per_source):
    source, path, image_id = job
    try:
        img, _ = load_grayscale(path)
    except ValueError as e:
        return "skip", {"path": path, "problem": str(e).split(": ", 1)[-1]}
    h, w = img.shape
    if h < size or w < size:
        return "skip", {"path": path, "problem": f"too small: {w}x{h} < {size}x{size}"}
    covers = []
    boxes = [(r, c) for r, c in crop_boxes(h, w, size, crop, stride)
             # flat regions (sky, black borders) hold no embeddable content
             if img[r:r + size, c:c + size].std() >= min_std]
    for r, c in _spread(boxes, max_per_source):
        tile = img[r:r + size, c:c + size]
        cover_id = f"{image_id}_r{r:04d}_c{c:04d}"
        name = f"{cover_id}.jpg"
        _write_jpeg(os.path.join(out_dir, name), tile, quality)
        covers.append({"cover_id": cover_id, "file": name, "crop": [r, c, size, size]})
    if not covers:
        return "skip", {"path": path, "problem": "no crop with content (all flat)"}
    return "ok", {"source": source, "source_path": path, "quality": quality, "covers": covers}


@holds_folder_lock("make_covers")
def make_covers(sources, out_dir, size=256, crop="left-top", stride=None, quality=75, min_std=2.0,
                workers=None, runner="local", max_per_source=None):
    """Write covers for [(source, path)] into out_dir; resumable. Returns the manifest records.
    max_per_source caps the tiles of one photo (spread evenly over it)."""
    os.makedirs(out_dir, exist_ok=True)
    if crop not in CROPS:
        raise ValueError(f"crop must be one of {CROPS}, got {crop!r}")
    if size <= 0 or size % 8:
        raise ValueError(f"size must be a positive multiple of 8 (JPEG blocks), got {size}")
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"quality must be in 1..100, got {quality}")
    if stride is not None and stride <= 0 or max_per_source is not None and max_per_source <= 0:
        raise ValueError(f"stride and max_per_source must be positive, got {stride} and {max_per_source}")
    remove_stale_temporaries(out_dir)
    record_parameters(os.path.join(out_dir, "covers.json"), {"size": size, "crop": crop, "stride": stride,
                                                             "quality": quality, "min_std": min_std,
                                                             "max_per_source": max_per_source})
    manifest = os.path.join(out_dir, MANIFEST)
    repair_jsonl(manifest)
    done = {r["source_path"] for r in read_jsonl(manifest)}
    ids = image_ids(sources)
    todo = [(source, path, ids[path]) for source, path in sources if path not in done]
    if len(todo) < len(sources):
        print(f"make_covers: {len(sources) - len(todo)} source image(s) already done, {len(todo)} to go")
    fn = functools.partial(_covers_for_source, out_dir=out_dir, size=size, crop=crop, stride=stride,
                           quality=quality, min_std=min_std, max_per_source=max_per_source)
    return parallel.run_into_manifest("make_covers", fn, todo, manifest, out_dir, runner, workers, "covers")


def cover_index(covers_dir):
    """cover_id -> {"source", "path"} from a covers manifest."""
    manifest = os.path.join(covers_dir, MANIFEST)
    records = numbered_records(manifest)
    if not records:
        raise FileNotFoundError(f"{covers_dir}: no {MANIFEST} (run make_covers first)")
    index = {}
    for number, r in records:
        where = f"{manifest}:{number}"
        try:
            for c in r["covers"]:
                index[plain_name(c["cover_id"], where, "cover_id")] = {
                    "source": r["source"], "path": inside(covers_dir, c["file"], where, "file")}
        except (KeyError, TypeError) as e:
            raise ManifestError(f"{where}: the record lacks {e} (not a make_covers manifest)") from None
    return index
