"""The end-to-end job behind `make demo`: bundled real photos -> 128x128 QF75 covers
-> nsF5 and J-UNIWARD stego -> TFRecords split by source photo -> train the hybrid
model on CPU -> evaluate on held-out photos (and J-UNIWARD as a mismatch test)
-> table and plots. Every stage resumes if the job is run again."""
import json
import os
import time

from data_tools.bundled import bundled_photos
from data_tools.covers import make_covers
from data_tools.embed import embed
from data_tools.tfrecords import load_split, make_tfrecords


def _stage(name):
    print(f"\n=== {name} ===", flush=True)
    return time.time()


def _build_data(out_dir, size, stride, max_per_source, payload, seed, workers, timings):
    """Covers, nsF5 stego and records split by photo, and J-UNIWARD stego of the test
    photos (the mismatch test); returns (covers, nsF5 records, J-UNIWARD records, split)."""
    covers, nsf5, juni = (os.path.join(out_dir, d) for d in ("covers", "stego_nsf5", "stego_juniward"))
    rec_nsf5, rec_juni = os.path.join(out_dir, "records_nsf5"), os.path.join(out_dir, "records_juniward")

    t = _stage(f"covers: bundled photos -> {size}x{size} grey QF75 tiles (stride {stride}, at most {max_per_source} per photo)")
    make_covers(bundled_photos(), covers, size=size, crop="tiles", stride=stride, quality=75, workers=workers,
                max_per_source=max_per_source)
    timings["covers"] = time.time() - t

    t = _stage(f"stego: nsF5 at {payload} bpnzAC")
    embed(covers, nsf5, "nsf5", payload, seed=seed, workers=workers)
    timings["embed_nsf5"] = time.time() - t

    t = _stage("TFRecords: train / val / test split by source photo")
    info = make_tfrecords(covers, [nsf5], rec_nsf5, {"train": 0.6, "val": 0.1, "test": 0.3}, seed=seed,
                          workers=workers)
    split = load_split(os.path.join(rec_nsf5, "split.json"))
    for name, s in info["splits"].items():
        print(f"  {name}: {s['pairs']} pairs from {s['sources']} photos: {', '.join(split[name])}")
    timings["tfrecords"] = time.time() - t

    t = _stage(f"stego: J-UNIWARD at {payload} bpnzAC on the held-out test photos (mismatch test)")
    embed(covers, juni, "j-uniward", payload, seed=seed, workers=workers, sources=set(split["test"]))
    make_tfrecords(covers, [juni], rec_juni, split={"test": split["test"]}, workers=workers)
    timings["embed_juniward"] = time.time() - t
    return covers, rec_nsf5, rec_juni, split


def run_demo(out_dir="demo_out", size=128, stride=32, max_per_source=300, payload=0.4, model="hybrid-type1",
             steps=1000, warmup_payload=1.0, warmup_steps=300, batch_pairs=16, learning_rate=0.002,
             warmup_learning_rate=0.01, val_every=100,
             workers=None, seed=0, select_by="accuracy", keep_checkpoints=2, precise_bn_batches=64):
    from kerastego.evaluation import evaluate, format_report
    from kerastego.training import TrainConfig, train

    os.makedirs(out_dir, exist_ok=True)
    timings = {}
    covers, rec_nsf5, rec_juni, split = _build_data(out_dir, size, stride, max_per_source, payload, seed, workers,
                                                    timings)
    warm = os.path.join(out_dir, "stego_nsf5_warmup")
    rec_warm = os.path.join(out_dir, "records_nsf5_warmup")

    init_from = None
    if warmup_steps:
        # Curriculum: at small scale the detector does not start learning at 0.4 bpnzAC
        # (held-out accuracy stayed near 50%); it does at a larger payload, and that model
        # is a good start for the target payload.
        t = _stage(f"curriculum warm-up: nsF5 at {warmup_payload} bpnzAC, {warmup_steps} steps")
        embed(covers, warm, "nsf5", warmup_payload, seed=seed, workers=workers)
        make_tfrecords(covers, [warm], rec_warm, split=split, workers=workers)
        warm_summary = train(TrainConfig(
            train_data=os.path.join(rec_warm, "train-*"), val_data=os.path.join(rec_warm, "val-*"),
            out_dir=os.path.join(out_dir, "train_warmup"), model=model, image_size=size, batch_pairs=batch_pairs,
            steps=warmup_steps, val_every=val_every, checkpoint_every=val_every, learning_rate=warmup_learning_rate,
            decay_every=10 ** 9, seed=seed))
        init_from = warm_summary["final_model"]
        timings["train_warmup"] = time.time() - t

    t = _stage(f"train {model} on nsF5 at {payload} bpnzAC ({steps} steps of {batch_pairs} pairs, CPU)")
    summary = train(TrainConfig(
        train_data=os.path.join(rec_nsf5, "train-*"), val_data=os.path.join(rec_nsf5, "val-*"),
        out_dir=os.path.join(out_dir, "train"), model=model, image_size=size, batch_pairs=batch_pairs,
        steps=steps, val_every=val_every, checkpoint_every=val_every, learning_rate=learning_rate,
        decay_every=10 ** 9, seed=seed, init_from=init_from, select_by=select_by,
        keep_checkpoints=keep_checkpoints,
        # the decision at 0.5 of raw BatchNorm running statistics drifted between checkpoints
        # (held-out accuracy 0.51-0.67); re-estimated statistics held 0.60-0.63 (BUILD.md)
        precise_bn_batches=precise_bn_batches))
    timings["train"] = time.time() - t

    t = _stage("evaluate the best-validation model on held-out photos")
    best, threshold = summary["best_model"], [summary["best_val_threshold"]]
    results = {
        "nsf5 (same algorithm)": evaluate([best], os.path.join(rec_nsf5, "test-*"), os.path.join(out_dir, "eval_nsf5"),
                                          names=[model], thresholds=threshold),
        "j-uniward (mismatch)": evaluate([best], os.path.join(rec_juni, "test-*"),
                                         os.path.join(out_dir, "eval_juniward"), names=[model], thresholds=threshold),
    }
    timings["evaluate"] = time.time() - t
    for name, report in results.items():
        print(f"\n{name}:")
        print(format_report(report))
    out = {"timings_seconds": {k: round(v, 1) for k, v in timings.items()}, "train": summary,
           "evaluation": results}
    with open(os.path.join(out_dir, "demo.json"), "w") as f:
        json.dump(out, f, indent=2, default=str)
    print(f"\nplots: {out_dir}/train/curves.png, {out_dir}/eval_nsf5/roc.png, {out_dir}/eval_juniward/roc.png")
    print(f"report: {out_dir}/demo.json; TensorBoard: tensorboard --logdir {out_dir}/train/logs")
    return out
