"""What a corpus scan costs against the model's bare rate, every row in one run on the
same cores: one-tile files (256x256 QF75) and large photos (2048x1536 QF75), for each
model, timed as bare inference on preloaded tiles (the best of batch 1, 8, 32, 64, each
the best of 3 passes), the local scan (from its start, the best of 3 scans),
the bare rate once more at the best batch (every ratio is to the mean of the two, so a
drift of the machine's speed between them moves both sides alike), detect, the local
scan with one reading process, the Beam DirectRunner scan (over the span of its model
calls) and the gRPC stand-in scan (each at the bare rate's best batch), and the start-up
of bin/scan to its first row.

    python benchmarks/scan.py [--models hybrid-type1,calpa-srnet] [--small 256] [--large 6]
    KERAS_BACKEND=jax python benchmarks/scan.py --local_only [--readers 2]

--local_only keeps the ways that need no TensorFlow-only part (bare, detect, the local scan
reading in-line and with --readers reading processes, start-up), so the same rows
are measured under any Keras backend and on a machine with JAX and no TensorFlow (a GPU).

Goals: local scan >= 0.9x the bare rate; Beam DirectRunner >= 0.5x.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import machine as tf_machine, save, work_folder  # noqa: E402

SIZE = 256
GOALS = {"scan": 0.9, "beam": 0.5}
PASSES = 3   # the bare rate is the best of 3 passes over the tiles, the local scan the best of 3 scans


def make_files(folder, count, shape):
    """`count` QF75 grayscale JPEGs of `shape` (h, w) cut or resized from bundled photos."""
    import jpeglib
    import numpy as np
    from PIL import Image
    from data_tools.bundled import bundled_photos
    os.makedirs(folder)
    photos = sorted(p for _, p in bundled_photos() if p.endswith((".png", ".jpg")))
    paths = []
    for i in range(count):
        img = Image.open(photos[i % len(photos)]).convert("L")
        if shape[0] > img.height or shape[1] > img.width:
            img = img.resize((shape[1], shape[0]), Image.BICUBIC)
        r, c = (i // len(photos)) * 8 % (img.height - shape[0] + 1), 0
        tile = np.ascontiguousarray(np.asarray(img)[r:r + shape[0], c:c + shape[1]])
        path = os.path.join(folder, f"{i:05d}.jpg")
        jpeglib.from_spatial(tile[..., None]).write_spatial(path, qt=75)
        paths.append(path)
    return paths


def keras_model(name):
    """A freshly built `name` with its record (family, QF75 training table)."""
    from kerastego.models import build_model, model_family
    from kerastego.models.quality import table_for_quality
    from kerastego.models.record import with_record
    return with_record(build_model(name, (SIZE, SIZE, 1), input_kind="coefficients"), model_family(name),
                       [table_for_quality(75)])


def model_files(name, folder):
    """(the .keras file, the SavedModel version folder) of a freshly built `name`."""
    from kerastego.export import export_savedmodel
    model = keras_model(name)
    path = os.path.join(folder, f"{name}.keras")
    model.save(path)
    return path, export_savedmodel(model, os.path.join(folder, "serving"), name)


def measure_row(kind, paths, keras_path, ways, goals, scans=1):
    """The row of one file kind: the bare rate at the best batch, then each way of `ways`
    ((name, f(detector, batch) -> files/s or (files/s, extra fields))) at that batch, in
    order, the bare rate timed again after the first `scans` ways, each rate's ratio to the
    bare rate and whether `goals` are met."""
    from kerastego.jobs import scan_timing as st
    from kerastego.jobs.detect import KerasDetector
    detector = KerasDetector(keras_path)
    tiles, tables = st.preloaded(paths, SIZE)
    per_file = len(tiles) / len(paths)
    batch, tile_rate, by_batch = st.best_bare_rate(detector, tiles, tables)
    row = {"files": kind, "count": len(paths), "tiles_per_file": per_file, "best_batch": batch,
           "bare_tiles_per_s_by_batch": {str(b): round(r, 2) for b, r in by_batch.items()}}
    for i, (name, way) in enumerate(ways):
        rate = way(detector, batch)
        if isinstance(rate, tuple):
            rate, extra = rate
            row.update(extra)
        row[f"{name}_files_per_s"] = round(rate, 3)
        if i == scans - 1:
            # the bare rate again right after the local scans: the ratios are to the mean of the
            # two, so a machine whose speed drifts between them moves both sides alike
            before, after = tile_rate / per_file, st.bare_rate(detector, tiles, tables, batch) / per_file
            row.update(bare_files_per_s_before=round(before, 3), bare_files_per_s_after=round(after, 3),
                       bare_files_per_s=round((before + after) / 2, 3))
    for name, _ in ways:
        row[f"{name}_ratio"] = round(row[f"{name}_files_per_s"] / row["bare_files_per_s"], 3)
    row["goals_met"] = {m: row[f"{m}_ratio"] >= g for m, g in goals.items()}
    print(row, flush=True)
    return row


def measure(kind, paths, keras_path, saved_model, workers, beam_workers):
    """Every way: the local scan, detect, the local scan with one reading process beside the
    model (docs/decisions/0003-scan-reading.md), the Beam DirectRunner and the gRPC stand-in."""
    from kerastego.jobs import scan_timing as st

    def beam(detector, batch):
        rate, start = st.beam_rate(paths, keras_path, batch, beam_workers)
        return rate, {"beam_start_up_s": start}
    ways = [("scan", lambda d, b: st.scan_rate(paths, d, b, workers, runs=PASSES)),
            ("detect", lambda d, b: st.detect_rate(paths, d, b)),
            ("scan_one_reader", lambda d, b: st.scan_rate(paths, d, b, 1)),
            ("beam", beam),
            ("grpc", lambda d, b: st.grpc_rate(paths, saved_model, b))]
    return measure_row(kind, paths, keras_path, ways, GOALS)


def measure_local(kind, paths, keras_path, readers):
    """The ways that need no TensorFlow-only part (the local scan reading in-line and
    with `readers` reading processes, detect), so the row is measured under any Keras backend."""
    from kerastego.jobs import scan_timing as st
    ways = [("scan", lambda d, b: st.scan_rate(paths, d, b, 0, runs=PASSES)),
            ("scan_readers", lambda d, b: st.scan_rate(paths, d, b, readers, runs=PASSES)),
            ("detect", lambda d, b: st.detect_rate(paths, d, b))]
    return measure_row(kind, paths, keras_path, ways, {"scan": GOALS["scan"]}, scans=2)


def model_rows(models, small, large, prepare, measure_kind):
    """One row per model and file kind, each with the start-up of bin/scan to its first row:
    prepare(name) -> (the .keras path, what else measure_kind takes after it)."""
    from kerastego.jobs.scan_timing import start_up_seconds
    rows = []
    for name in models.split(","):
        keras_path, *extra = prepare(name)
        start = start_up_seconds(keras_path, small[0])
        for kind, paths in (("256x256", small), ("2048x1536", large)):
            rows.append({"model": name, "start_up_s": round(start, 2),
                         **measure_kind(kind, paths, keras_path, *extra)})
    return rows


def local_only(args, work, small, large):
    """Every row under the active Keras backend with no TensorFlow-only part: the way a GPU
    machine with JAX and no TensorFlow measures the scan. Writes results/scan_local_<backend>_<device>.json."""
    import keras
    from gpu_check import jax_machine

    def prepare(name):
        path = os.path.join(work, f"{name}.keras")
        keras_model(name).save(path)
        return (path,)
    rows = model_rows(args.models, small, large, prepare,
                      lambda kind, paths, path: measure_local(kind, paths, path, args.readers))
    backend = keras.backend.backend()
    machine = jax_machine() if backend == "jax" else tf_machine()
    device = machine["device_platform"] if backend == "jax" else ("gpu" if machine["gpus"] else "cpu")
    save(f"scan_local_{backend}_{device}", {"size": SIZE, "readers": args.readers, "goals": {"scan": GOALS["scan"]},
                                            "rows": rows}, machine_info=machine)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="hybrid-type1,calpa-srnet")
    ap.add_argument("--small", type=int, default=256, help="one-tile files per model")
    ap.add_argument("--large", type=int, default=6, help="2048x1536 photos per model")
    ap.add_argument("--workers", type=int, default=0, help="reading processes of the local scan")
    ap.add_argument("--beam_workers", type=int, default=1, help="DirectRunner worker processes")
    ap.add_argument("--local_only", action="store_true",
                    help="only the ways that run under any Keras backend (no Beam, gRPC or SavedModel)")
    ap.add_argument("--readers", type=int, default=2, help="with --local_only: reading processes of the second scan")
    args = ap.parse_args()
    with work_folder(prefix="kerastego_scan_bench_") as work:
        small = make_files(os.path.join(work, "small"), args.small, (SIZE, SIZE))
        large = make_files(os.path.join(work, "large"), args.large, (1536, 2048))
        if args.local_only:
            return local_only(args, work, small, large)
        rows = model_rows(args.models, small, large, lambda name: model_files(name, work),
                          lambda kind, paths, path, saved: measure(kind, paths, path, saved, args.workers,
                                                                   args.beam_workers))
    save("scan", {"size": SIZE, "workers": args.workers, "beam_workers": args.beam_workers, "goals": GOALS,
                  "rows": rows})


if __name__ == "__main__":
    main()
