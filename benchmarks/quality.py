"""Detection quality side by side: rich-model baselines (DCTR / GFR + FLD ensemble,
via sealwatch) and the deep detectors, trained and tested on one split by source
photo of bundled real images. Optional extra: pip install -e '.[baselines]'.

    python benchmarks/quality.py --work /tmp/quality [--size 64] [--algorithms nsf5,j-uniward,uerd]
        [--methods dctr,gfr@j-uniward,hybrid-type1,hybrid-type1-noqt,srnet@nsf5,...] [--steps 1500]
        [--ensemble 3] [--ensemble_algorithms nsf5]

A method@alg1+alg2 entry runs that method on those algorithms only (GFR and SRNet are
slow on a CPU).

Everything is seeded; data building and training resume if the command is re-run.
Writes benchmarks/results/quality.json, quality.md (the table) and quality.png.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import save  # noqa: E402

DEEP = ("hybrid-type1", "hybrid-type1-noqt", "hybrid-type2", "xunet2", "srnet", "calpa-srnet")


def pick_photos(sources):
    """Bundled photos, restricted to the named sources (a benchmark must keep its photo set
    when more photo packages get installed)."""
    from data_tools.bundled import bundled_photos
    photos = bundled_photos()
    if not sources:
        return photos
    wanted = set(sources.split(","))
    missing = wanted - {s for s, _ in photos}
    if missing:
        raise SystemExit(f"--sources: {sorted(missing)} not among the bundled photos")
    return [(s, p) for s, p in photos if s in wanted]


def experiment(args):
    """The benchmark's data: size x size QF75 tiles (stride size/2) of the bundled photos,
    one photo split for every algorithm (kerastego.jobs.experiment)."""
    from kerastego.jobs.experiment import Experiment
    return Experiment(args.work, pick_photos(args.sources), args.size, crop="tiles", stride=args.size // 2,
                      quality=75, max_per_source=args.max_per_source, seed=args.seed, workers=args.workers)


def rich_model(kind, exp, alg, payload, seed):
    """FLD ensemble on DCTR or GFR features (data_tools.rich_models): train on the
    train + val photos, score the test photos. (scores, labels, ids, seconds)."""
    from data_tools.rich_models import rich_model_scores
    train = exp.pairs(alg, payload, "train") + exp.pairs(alg, payload, "val")
    test = exp.pairs(alg, payload, "test")
    scores, labels, seconds = rich_model_scores(kind, [p[1:] for p in train], [p[1:] for p in test], exp.work,
                                                seed, exp.workers)
    return scores, labels, [c for c, _, _ in test] * 2, seconds


def _train(name, rec, out, size, steps, seed, batch_pairs, init_from=None):
    from kerastego.training import TrainConfig, train
    from kerastego.models import model_family
    lr = 1e-3 if model_family(name) == "srnet" else 0.01
    return train(TrainConfig.of(train_data=os.path.join(rec, "train-*"), val_data=os.path.join(rec, "val-*"),
                             out_dir=out, model=name, image_size=size, batch_pairs=batch_pairs, steps=steps,
                             val_every=max(steps // 6, 1), checkpoint_every=max(steps // 6, 1), learning_rate=lr,
                             decay_every=max(steps // 3, 1), seed=seed, verbose=0, init_from=init_from,
                             select_by="p_e"))   # the rule the published table's models were kept by


def deep_model(name, work, rec, alg, size, steps, seed, batch_pairs, warmup=None, warmup_steps=0):
    """Train on the records `rec` (optionally after a warm-up on `warmup`, records at a
    larger payload) and score the test split: (scores, labels, ids, seconds). The
    seconds are the trainer's own total (warm-up + training, summed over resumes)."""
    init_from, seconds = None, 0.0
    if warmup and warmup_steps:
        w = _train(name, warmup, os.path.join(work, f"warmup_{alg}_{name}_seed{seed}"), size, warmup_steps, seed,
                   batch_pairs)
        init_from, seconds = w["final_model"], w["seconds_total"]
    summary = _train(name, rec, os.path.join(work, f"train_{alg}_{name}_seed{seed}"), size, steps, seed,
                     batch_pairs, init_from)
    scores, labels, ids = score_test(summary["best_model"], rec)
    return scores, labels, ids, seconds + summary["seconds_total"]


def score_test(model_path, rec):
    from kerastego.evaluation import predict_split
    from kerastego.models.saving import load_model as load_saved_model
    return predict_split(load_saved_model(model_path), os.path.join(rec, "test-*"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--payload", type=float, default=0.4)
    ap.add_argument("--algorithms", default="nsf5,j-uniward,uerd")
    ap.add_argument("--methods", default="dctr,gfr,hybrid-type1,hybrid-type1-noqt,xunet2,srnet,calpa-srnet")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch_pairs", type=int, default=32)
    ap.add_argument("--ensemble", type=int, default=3, help="hybrid-type1 models (seeds) in the vote; 0 = none")
    ap.add_argument("--ensemble_algorithms", default="", help="algorithms that get the ensemble (default: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--sources", default="", help="bundled photos to use (comma list; default: all installed)")
    ap.add_argument("--max_per_source", type=int, default=400, help="cover tiles per bundled photo")
    ap.add_argument("--warmup_steps", type=int, default=0,
                    help="curriculum: steps at --warmup_payload before the target payload (deep models)")
    ap.add_argument("--warmup_payload", type=float, default=1.0)
    ap.add_argument("--method_steps", default="",
                    help="per-method warm-up+main steps, e.g. srnet=100+150,calpa-srnet=100+150 (slow models)")
    args = ap.parse_args()
    from kerastego.evaluation import align_members, majority_vote, mean_probability, summarize
    from kerastego.models import build_model
    from kerastego.models import count_conv_params

    t0 = time.time()
    algorithms = args.algorithms.split(",")
    plan = method_plan(args.methods, algorithms)
    method_steps = parse_method_steps(args.method_steps)
    exp = experiment(args)
    records = {alg: exp.records(alg, args.payload) for alg in algorithms}
    split = exp.split()
    ensemble_algs = set(args.ensemble_algorithms.split(",")) if args.ensemble_algorithms else set(algorithms)
    results = {}
    for alg in algorithms:
        results[alg] = {}
        methods = [m for m in plan if alg in plan[m]]
        warm = (exp.records(alg, args.warmup_payload)
                if args.warmup_steps and set(methods) - {"dctr", "gfr"} else None)

        def run(method, seed):
            if method in ("dctr", "gfr"):
                return rich_model(method, exp, alg, args.payload, seed)
            warmup_steps, steps = method_steps.get(method, (args.warmup_steps, args.steps))
            return deep_model(method, args.work, records[alg], alg, args.size, steps, seed, args.batch_pairs, warm,
                              warmup_steps)

        hybrid_scores = []
        for method in methods:
            print(f"\n=== {alg}: {method} ===", flush=True)
            s, y, ids, secs = cached(args.work, alg, method, args.seed, lambda: run(method, args.seed))
            if method == "hybrid-type1":
                hybrid_scores.append((s, y, ids))
            m = summarize(s, y)
            m["train_seconds"] = round(secs, 1)
            if method in DEEP:
                size = (args.size, args.size, 1)
                m["conv_params"] = count_conv_params(build_model(method, input_shape=size, input_kind="spatial"))
            results[alg][method] = m
            print(json.dumps(m), flush=True)
        if args.ensemble > 1 and "hybrid-type1" in methods and alg in ensemble_algs:
            secs_all = results[alg]["hybrid-type1"]["train_seconds"]
            for k in range(1, args.ensemble):
                print(f"\n=== {alg}: hybrid-type1 seed {args.seed + k} (ensemble) ===", flush=True)
                s, y, ids, secs = cached(args.work, alg, "hybrid-type1", args.seed + k,
                                         lambda: run("hybrid-type1", args.seed + k))
                hybrid_scores.append((s, y, ids))
                secs_all += secs
            p, y, _ = align_members(hybrid_scores, [f"hybrid-type1 seed {args.seed + k}"
                                                    for k in range(args.ensemble)])
            results[alg][f"hybrid-type1 x{args.ensemble} vote"] = {
                **summarize(majority_vote(p), y), "train_seconds": round(secs_all, 1)}
            results[alg][f"hybrid-type1 x{args.ensemble} mean"] = {
                **summarize(mean_probability(p), y), "train_seconds": round(secs_all, 1)}
    claims = check_claims(results)
    payload = save("quality", {"size": args.size, "payload_bpnzac": args.payload, "steps": args.steps,
                               "warmup_steps": args.warmup_steps, "warmup_payload": args.warmup_payload,
                               "method_steps": {k: list(v) for k, v in method_steps.items()},
                               "algorithms": algorithms, "split": split, "results": results, "claims": claims,
                               "run_seconds": round(time.time() - t0, 1)})
    write_markdown(payload, os.path.join(os.path.dirname(__file__), "results", "quality.md"))
    plot(results, os.path.join(os.path.dirname(__file__), "results", "quality.png"))


def method_plan(spec, algorithms):
    """"dctr,gfr@j-uniward,srnet@nsf5+uerd" -> {method: [algorithms it runs on]}."""
    plan = {}
    for item in filter(None, spec.split(",")):
        method, _, only = item.partition("@")
        algs = only.split("+") if only else algorithms
        unknown = set(algs) - set(algorithms)
        if unknown:
            raise SystemExit(f"--methods {item}: {sorted(unknown)} not in --algorithms {algorithms}")
        if method not in DEEP + ("dctr", "gfr"):
            raise SystemExit(f"--methods: unknown method {method!r}; use dctr, gfr or one of {DEEP}")
        plan[method] = algs
    return plan


def parse_method_steps(spec):
    """"srnet=100+150" -> {"srnet": (100, 150)}."""
    out = {}
    for item in filter(None, spec.split(",")):
        try:
            method, steps = item.split("=")
            warm, main = steps.split("+")
            out[method] = (int(warm), int(main))
        except ValueError:
            raise SystemExit(f"--method_steps: cannot read {item!r}; use method=WARMUP+STEPS")
    return out


def cached(work, alg, method, seed, compute):
    """(scores, labels, ids, train seconds) of one method, kept in work/results so a
    re-run (more methods, another algorithm) reuses every finished one."""
    path = os.path.join(work, "results", f"{alg}_{method}_seed{seed}.npz")
    if os.path.exists(path):
        r = np.load(path)
        return r["scores"], r["labels"], [str(i) for i in r["ids"]], float(r["seconds"])
    scores, labels, ids, seconds = compute()
    if len(ids) != len(scores):
        raise ValueError(f"{path}: {len(scores)} scores but {len(ids)} ids")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.savez(path + ".tmp.npz", scores=np.asarray(scores), labels=np.asarray(labels), ids=np.asarray(ids),
             seconds=seconds)
    os.replace(path + ".tmp.npz", path)
    return scores, labels, list(ids), seconds


def check_claims(results):
    """The papers' qualitative claims, checked on this run (None where not measured)."""
    out = {}
    for alg, r in results.items():
        c = {}
        if "hybrid-type1" in r and "hybrid-type1-noqt" in r:
            c["qt_helps (P_E with Q&T < without)"] = r["hybrid-type1"]["p_e"] < r["hybrid-type1-noqt"]["p_e"]
        if "hybrid-type1" in r and "dctr" in r:
            c["hybrid_beats_dctr (P_E)"] = r["hybrid-type1"]["p_e"] < r["dctr"]["p_e"]
        votes = [m for m in r if m.endswith(" vote")]
        if votes and "hybrid-type1" in r:
            c["ensemble_beats_single_hybrid (P_E)"] = r[votes[0]]["p_e"] < r["hybrid-type1"]["p_e"]
        if "srnet" in r and "calpa-srnet" in r:
            c["calpa_within_1pct_of_srnet (accuracy)"] = r["srnet"]["accuracy"] - r["calpa-srnet"]["accuracy"] <= 0.01
            c["calpa_params_fraction"] = round(r["calpa-srnet"]["conv_params"] / r["srnet"]["conv_params"], 4)
        out[alg] = c
    return out


def compute_minutes(results):
    """Training minutes of all methods (each ensemble member once)."""
    total = 0.0
    for r in results.values():
        for method, m in r.items():
            if " x" not in method:
                total += m.get("train_seconds", 0.0)
            elif method.endswith("vote"):
                total += m["train_seconds"] - r["hybrid-type1"]["train_seconds"]
    return total / 60


def write_markdown(payload, path):
    run = payload["results"]
    lines = [f"Measured on {payload['machine']['processor']} ({payload['machine']['cpu_count']} cores), "
             f"{payload['date']}; {run['size']}x{run['size']} QF75, {run['payload_bpnzac']} bpnzAC, "
             f"{run['steps']} training steps (after {run['warmup_steps']} warm-up steps at "
             f"{run['warmup_payload']} bpnzAC; per-method overrides {run.get('method_steps') or 'none'}); "
             f"this command ran {run['run_seconds'] / 60:.0f} min (methods finished earlier are reused from the work "
             f"folder); the methods' own training took {compute_minutes(run['results']):.0f} min in all.", "",
             "| algorithm | method | accuracy | P_E | P_FA@P_D=50% | AUC | train s |", "|---|---|---|---|---|---|---|"]
    for alg, r in run["results"].items():
        for method, m in r.items():
            lines.append(f"| {alg} | {method} | {m['accuracy']:.4f} | {m['p_e']:.4f} | {m['pfa_at_pd50']:.4f} | "
                         f"{m['auc']:.4f} | {m.get('train_seconds', '')} |")
    lines += ["", "Claims: " + json.dumps(run["claims"])]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4), squeeze=False)
    for ax, (alg, r) in zip(axes[0], results.items()):
        names = list(r)
        ax.barh(names, [r[n]["p_e"] for n in names], color="#1f77b4")
        ax.axvline(0.5, color="grey", ls="--", lw=0.8)
        ax.set_xlim(0, 0.55)
        ax.set_title(f"{alg}: P_E (lower is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    if sys.argv[1:] == ["--report_only"]:   # rewrite quality.md / quality.png from quality.json
        results_dir = os.path.join(os.path.dirname(__file__), "results")
        with open(os.path.join(results_dir, "quality.json")) as f:
            saved = json.load(f)
        write_markdown(saved, os.path.join(results_dir, "quality.md"))
        plot(saved["results"]["results"], os.path.join(results_dir, "quality.png"))
    else:
        main()
