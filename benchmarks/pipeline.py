"""Images/s of the tf.data pipeline from pair TFRecords (uncompressed and GZIP) vs
reading JPEG files one by one, against the hybrid model's training throughput.

    python benchmarks/pipeline.py [--size 256]

Goal: the pipeline delivers >= 5x the hybrid Type1 training throughput on the same
machine, so it never starves an accelerator.
"""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import save  # noqa: E402


def build_records(work, size):
    from data_tools.bundled import bundled_photos
    from data_tools.covers import make_covers
    from data_tools.embed import embed
    from data_tools.tfrecords import make_tfrecords
    covers, stego = os.path.join(work, "covers"), os.path.join(work, "stego")
    make_covers(bundled_photos(), covers, size=size, crop="tiles", stride=size // 2, quality=75)
    embed(covers, stego, "nsf5", 0.4)
    for compress in (False, True):
        make_tfrecords(covers, [stego], os.path.join(work, "gz" if compress else "raw"), {"train": 1.0},
                       pairs_per_shard=32, compress=compress)
    return covers, stego


def pipeline_rate(pattern, size, batch_pairs, batches, output):
    from kerastego.data import make_dataset
    ds = make_dataset(pattern, batch_pairs, training=True, image_size=size, output=output, seed=0)
    it = iter(ds)
    for _ in range(3):
        next(it)
    t = time.perf_counter()
    for _ in range(batches):
        x, y = next(it)
    return batches * 2 * batch_pairs / (time.perf_counter() - t)


def jpeg_rate(covers_dir, n):
    """One file at a time: read coefficients and decompress in numpy (a naive loader)."""
    from kerastego.jpeg_io import read_coefficients
    from kerastego.layers import decompress_numpy
    files = sorted(os.path.join(covers_dir, f) for f in os.listdir(covers_dir) if f.endswith(".jpg"))[:n]
    t = time.perf_counter()
    for f in files:
        c, q, _ = read_coefficients(f)
        decompress_numpy(c, q)
    return len(files) / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch_pairs", type=int, default=16)
    ap.add_argument("--batches", type=int, default=60)
    ap.add_argument("--work", default=None)
    args = ap.parse_args()
    sys.path.insert(0, os.path.dirname(__file__))
    from train import bench_model
    work = args.work or tempfile.mkdtemp(prefix="kerastego_bench_")
    covers, _ = build_records(work, args.size)
    rows = {}
    for name, pattern in (("tfrecord", "raw/train-*"), ("tfrecord_gzip", "gz/train-*")):
        for output in ("coefficients", "spatial"):
            rows[f"{name}_{output}"] = round(pipeline_rate(os.path.join(work, pattern), args.size, args.batch_pairs,
                                                           args.batches, output), 1)
            print(name, output, rows[f"{name}_{output}"], "img/s", flush=True)
    rows["jpeg_files_one_by_one"] = round(jpeg_rate(covers, 300), 1)
    model = bench_model("hybrid-type1", args.size, 2 * args.batch_pairs, 3, 1)
    rows["hybrid_type1_train_images_per_s"] = model["train_images_per_s"]
    rows["pipeline_over_training_ratio"] = round(rows["tfrecord_coefficients"] / model["train_images_per_s"], 1)
    rows["gzip_pipeline_over_training_ratio"] = round(rows["tfrecord_gzip_coefficients"] / model["train_images_per_s"], 1)
    print(rows)
    save("pipeline", {"size": args.size, "batch_pairs": args.batch_pairs, **rows})


if __name__ == "__main__":
    main()
