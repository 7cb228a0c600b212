"""The end-to-end job behind `make demo`: bundled real photos -> 128x128 QF75 covers
-> nsF5 and J-UNIWARD stego -> TFRecords split by source photo -> train the hybrid
model on CPU -> evaluate on held-out photos (and J-UNIWARD as a mismatch test)
-> table and plots. Every stage resumes if the job is run again."""
import os
import time

from data_tools.bundled import bundled_photos
from kerastego.fileio import write_json
from kerastego.jobs.experiment import Experiment


def _stage(name):
    print(f"\n=== {name} ===", flush=True)
    return time.time()


def _build_data(exp, payload, warmup_payload, timings):
    """nsF5 records split by photo, J-UNIWARD records of the test photos (the mismatch
    test) and the warm-up payload's records; returns their folders."""
    t = _stage(f"covers: bundled photos -> {exp.size}x{exp.size} grey QF75 tiles (stride {exp.stride}, "
               f"at most {exp.max_per_source} per photo)")
    exp.covers()
    timings["covers"] = time.time() - t
    t = _stage(f"stego and TFRecords: nsF5 at {payload} bpnzAC, train / val / test split by source photo")
    rec_nsf5 = exp.records("nsf5", payload)
    for name, sources in exp.split().items():
        print(f"  {name}: {len(sources)} photos: {', '.join(sources)}")
    timings["nsf5"] = time.time() - t
    t = _stage(f"stego: J-UNIWARD at {payload} bpnzAC on the held-out test photos (mismatch test)")
    rec_juni = exp.records("j-uniward", payload, split_names=["test"])
    timings["juniward"] = time.time() - t
    rec_warm = None
    if warmup_payload:
        t = _stage(f"stego: nsF5 at {warmup_payload} bpnzAC for the curriculum warm-up")
        rec_warm = exp.records("nsf5", warmup_payload)
        timings["nsf5_warmup"] = time.time() - t
    return rec_nsf5, rec_juni, rec_warm


def run_demo(out_dir="demo_out", size=128, stride=32, max_per_source=300, payload=0.4, model="hybrid-type1",
             steps=1000, warmup_payload=1.0, warmup_steps=300, batch_pairs=16, learning_rate=0.002,
             warmup_learning_rate=0.01, val_every=100,
             workers=None, seed=0, select_by="accuracy", keep_checkpoints=2, precise_bn_batches=64):
    from kerastego.evaluation import evaluate, format_report
    from kerastego.training import TrainConfig, train

    os.makedirs(out_dir, exist_ok=True)
    timings = {}
    exp = Experiment(out_dir, bundled_photos(), size, crop="tiles", stride=stride, quality=75,
                     max_per_source=max_per_source, seed=seed, workers=workers)
    rec_nsf5, rec_juni, rec_warm = _build_data(exp, payload, warmup_payload if warmup_steps else None, timings)

    init_from = None
    if warmup_steps:
        # Curriculum: at small scale the detector does not start learning at 0.4 bpnzAC
        # (held-out accuracy stayed near 50%); it does at a larger payload, and that model
        # is a good start for the target payload.
        t = _stage(f"curriculum warm-up: nsF5 at {warmup_payload} bpnzAC, {warmup_steps} steps")
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
    write_json(os.path.join(out_dir, "demo.json"), out, indent=2, default=str)
    print(f"\nplots: {out_dir}/train/curves.png, {out_dir}/eval_nsf5/roc.png, {out_dir}/eval_juniward/roc.png")
    print(f"report: {out_dir}/demo.json; TensorBoard: tensorboard --logdir {out_dir}/train/logs")
    return out
