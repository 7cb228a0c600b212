"""The papers' transferability claims at CPU scale, from the CALPA-NET authors' released
CALPA-SRNet (trained on J-UNIWARD 0.4): on bundled-photo pairs of other targets (UERD
0.4, nsF5 0.4, J-UNIWARD 0.2), held-out photos, compare
  - the imported model as is;
  - fine-tuned from it (TrainConfig.init_from, as `bin/train --init_from`);
  - CALPA-SRNet trained from scratch with the same steps (the same CPU budget);
  - DCTR + FLD ensemble on the same split (extra `baselines`; skipped if absent).

    python benchmarks/transfer.py --work /tmp/transfer [--steps 60] [--targets uerd:0.4,nsf5:0.4,j-uniward:0.2]

Writes benchmarks/results/transfer.json and prints the table.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import save  # noqa: E402
from authors_model import DEFAULT_CHECKPOINT  # noqa: E402


def scored(model_path, records, seconds):
    from kerastego.models.saving import load_model as load_saved_model
    from kerastego.evaluation import predict_split, summarize
    p, y, _ = predict_split(load_saved_model(model_path), os.path.join(records, "test-*"), batch_pairs=8)
    m = summarize(p, y)
    return {"p_e": round(m["p_e"], 4), "auc": round(m["auc"], 4), "accuracy": round(m["accuracy"], 4),
            "pairs": m["n"] // 2, "seconds": round(seconds, 1)}


def trained(args, records, out, init_from):
    """Train CALPA-SRNet on `records` (from init_from, or from scratch); best model path, seconds."""
    from kerastego.training import TrainConfig, train
    s = train(TrainConfig.of(train_data=os.path.join(records, "train-*"), val_data=os.path.join(records, "val-*"),
                          out_dir=out, model="calpa-srnet", image_size=256, batch_pairs=args.batch_pairs,
                          steps=args.steps, val_every=args.steps, checkpoint_every=max(args.steps // 3, 1),
                          learning_rate=args.finetune_lr if init_from else args.scratch_lr, init_from=init_from,
                          seed=args.seed, verbose=0))
    return s["best_model"], s["seconds_total"]


def dctr(exp, alg, payload, seed):
    import importlib.util
    if importlib.util.find_spec("sealwatch") is None:   # not imported here: torch next to TF crashes
        return {"skipped": "sealwatch not installed (pip install -e '.[baselines]')"}
    from data_tools.rich_models import rich_model_scores
    from kerastego.evaluation import summarize
    train = exp.pairs(alg, payload, "train") + exp.pairs(alg, payload, "val")
    test = exp.pairs(alg, payload, "test")
    p, y, seconds = rich_model_scores("dctr", [t[1:] for t in train], [t[1:] for t in test], exp.work, seed,
                                      exp.workers)
    m = summarize(p, y)
    return {"p_e": round(m["p_e"], 4), "auc": round(m["auc"], 4), "accuracy": round(m["accuracy"], 4),
            "pairs": m["n"] // 2, "seconds": round(seconds, 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT)
    ap.add_argument("--targets", default="uerd:0.4,nsf5:0.4,j-uniward:0.2")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch_pairs", type=int, default=8)
    ap.add_argument("--finetune_lr", type=float, default=1e-4)
    ap.add_argument("--scratch_lr", type=float, default=1e-3)
    ap.add_argument("--stride", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    from data_tools.bundled import bundled_photos
    from kerastego.jobs.experiment import Experiment
    from kerastego.models import import_tf1_checkpoint
    exp = Experiment(args.work, bundled_photos(), 256, crop="tiles", stride=args.stride, quality=75, seed=args.seed,
                     workers=args.workers)
    imported = os.path.join(args.work, "calpa_srnet_authors.keras")
    if not os.path.exists(imported):
        os.makedirs(args.work, exist_ok=True)
        import_tf1_checkpoint(args.checkpoint).save(imported)
    rows = []
    for target in args.targets.split(","):
        alg, payload = target.split(":")
        records = exp.records(alg, float(payload))
        tag = f"{alg}_{payload}"
        t = time.time()
        row = {"target": f"{alg} {payload}", "imported as is": scored(imported, records, 0.0)}
        row["imported as is"]["seconds"] = round(time.time() - t, 1)   # inference only
        path, secs = trained(args, records, os.path.join(args.work, f"finetune_{tag}"), imported)
        row["fine-tuned"] = scored(path, records, secs)
        path, secs = trained(args, records, os.path.join(args.work, f"scratch_{tag}"), None)
        row["from scratch"] = scored(path, records, secs)
        row["DCTR + FLD"] = dctr(exp, alg, float(payload), args.seed)
        print(row, flush=True)
        rows.append(row)
    save("transfer", {"steps": args.steps, "batch_pairs": args.batch_pairs, "finetune_lr": args.finetune_lr,
                      "scratch_lr": args.scratch_lr, "split": exp.split(), "rows": rows})


if __name__ == "__main__":
    main()
