"""Images/s of the tf.data pipeline from pair TFRecords (uncompressed and GZIP) vs
reading JPEG files one by one, against the hybrid model's training throughput.

    python benchmarks/pipeline.py [--size 256]

Goal: the pipeline delivers >= 5x the hybrid Type1 training throughput on the same
machine, so it never starves an accelerator. Every core works: dataset building runs one
process per core and tf.data's parallel maps autotune over all of them (the JSON says how
many there were, so a 16-core GPU machine's figure reads beside a 2-core one's).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import save, work_folder  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch_pairs", type=int, default=16)
    ap.add_argument("--batches", type=int, default=60)
    ap.add_argument("--work", default=None, help="build the dataset here and keep it (default: a temporary folder)")
    ap.add_argument("--workers", type=int, default=os.cpu_count(), help="processes building the dataset")
    args = ap.parse_args()
    with work_folder(args.work) as work:
        rows = measure(args, work)
    print(rows)
    save("pipeline", {"size": args.size, "batch_pairs": args.batch_pairs, "cores": os.cpu_count(), **rows})


def measure(args, work):
    """Images/s of each input path and of hybrid Type1 training, built in `work`."""
    from data_tools.bundled import bundled_photos
    from kerastego.jobs.experiment import Experiment
    from kerastego.jobs.timing import bench_model, jpeg_rate, pipeline_rate
    exp = Experiment(work, bundled_photos(), args.size, stride=args.size // 2, fractions={"train": 1.0},
                     pairs_per_shard=32, workers=args.workers)
    rows = {}
    for name, compress in (("tfrecord", False), ("tfrecord_gzip", True)):
        pattern = os.path.join(exp.records("nsf5", 0.4, compress=compress), "train-*")
        for output in ("coefficients", "spatial"):
            rows[f"{name}_{output}"] = round(pipeline_rate(pattern, args.size, args.batch_pairs, args.batches,
                                                           output), 1)
            print(name, output, rows[f"{name}_{output}"], "img/s", flush=True)
    covers = sorted(os.path.join(exp.covers_dir, f) for f in os.listdir(exp.covers_dir) if f.endswith(".jpg"))
    rows["jpeg_files_one_by_one"] = round(jpeg_rate(covers[:300]), 1)
    model = bench_model("hybrid-type1", args.size, 2 * args.batch_pairs, 3, 1)
    rows["hybrid_type1_train_images_per_s"] = model["train_images_per_s"]
    rows["pipeline_over_training_ratio"] = round(rows["tfrecord_coefficients"] / model["train_images_per_s"], 1)
    rows["gzip_pipeline_over_training_ratio"] = round(
        rows["tfrecord_gzip_coefficients"] / model["train_images_per_s"], 1)
    return rows


if __name__ == "__main__":
    main()
