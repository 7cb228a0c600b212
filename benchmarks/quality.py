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


def build_data(work, size, algorithms, payload, seed, workers, max_per_source, sources=""):
    from data_tools.covers import make_covers
    from data_tools.embed import embed
    from data_tools.tfrecords import load_split, make_tfrecords
    covers = os.path.join(work, "covers")
    make_covers(pick_photos(sources), covers, size=size, crop="tiles", stride=size // 2, quality=75,
                max_per_source=max_per_source, workers=workers)
    split = None
    for alg in algorithms:
        stego = os.path.join(work, f"stego_{alg}")
        embed(covers, stego, alg, payload, seed=seed, workers=workers)
        make_tfrecords(covers, [stego], os.path.join(work, f"records_{alg}"),
                       {"train": 0.6, "val": 0.1, "test": 0.3}, seed=seed, workers=workers, split=split)
        split = split or load_split(os.path.join(work, f"records_{algorithms[0]}", "split.json"))
    return covers, split


def _pairs(work, alg, split_sources, with_ids=False):
    """[(cover path, stego path)] of the given sources, sorted by cover id
    (with_ids: [(cover id, cover path, stego path)])."""
    from data_tools.covers import cover_index
    from data_tools.embed import stego_index
    covers = cover_index(os.path.join(work, "covers"))
    _, stegos = stego_index(os.path.join(work, f"stego_{alg}"))
    return [((c,) if with_ids else ()) + (covers[c]["path"], stegos[c]) for c in sorted(covers)
            if covers[c]["source"] in split_sources and c in stegos]


_GFR = {}


def gfr_fast(path, num_rotations=32, T=4, steps=(2, 4, 6, 8)):
    """sealwatch's GFR (original DDE variant, QF75 steps) with the per-image work vectorised:
    the 256 Gabor kernels are built once per process, and the 25 merged histograms of each
    filter output come from one bincount over (row mod 8, col mod 8, value) instead of 64
    np.histogram calls (2/3 of sealwatch's time here). Same numbers as
    sealwatch.gfr.extract_from_file(path, qf=75); every run checks that first."""
    import scipy.signal
    from sealwatch import dctr, tools
    from sealwatch.gfr import _gfr
    if "kernels" not in _GFR:
        rotations = np.arange(num_rotations) * np.pi / num_rotations
        _GFR["kernels"] = [(p, s, r, _gfr.compute_gabor_kernel(sigma, theta, phi, 0.5))
                           for p, phi in enumerate((0, np.pi / 2)) for s, sigma in enumerate((0.5, 0.75, 1, 1.25))
                           for r, theta in enumerate(rotations)]
        merged = dctr._dctr.get_symmetric_histogram_coordinates()
        m = np.zeros((len(merged), 64))
        for h, coords in enumerate(merged):
            for row, col in coords:
                m[h, row * 8 + col] = 1
        _GFR["merge"] = m
    img = tools.jpeg.decompress_from_file(path)
    merge = _GFR["merge"]
    inter = np.zeros((2, 4, num_rotations, len(merge), T + 1))
    pos = None
    for p, s, r, kernel in _GFR["kernels"]:
        q = np.abs(tools.matlab.round(scipy.signal.fftconvolve(img, kernel, mode="valid") / steps[s]))
        q = np.minimum(q, T).astype(np.int64)
        if pos is None:
            h, w = q.shape
            pos = ((np.arange(h) % 8)[:, None] * 8 + (np.arange(w) % 8)[None, :]) * (T + 1)
        counts = np.bincount((pos + q).ravel(), minlength=64 * (T + 1)).reshape(64, T + 1)
        sub = merge @ counts
        with np.errstate(invalid="ignore", divide="ignore"):
            inter[p, s, r] = sub / sub.sum(axis=1, keepdims=True)
    out = np.zeros((2, 4, num_rotations // 2 + 1, len(merge), T + 1))
    out[:, :, 0] = inter[:, :, 0]
    out[:, :, -1] = inter[:, :, num_rotations // 2]
    k = np.arange(1, num_rotations // 2)
    out[:, :, k] = (inter[:, :, k] + inter[:, :, -k]) / 2
    return out


def check_gfr_fast(paths):
    import sealwatch
    for path in paths:
        ref = np.asarray(sealwatch.gfr.extract_from_file(path, qf=75))
        np.testing.assert_allclose(gfr_fast(path), ref, rtol=1e-12, atol=1e-12, equal_nan=True,
                                   err_msg=f"gfr_fast differs from sealwatch on {path}")


def _features(kind, path):
    import sealwatch
    if kind == "dctr":
        f = sealwatch.dctr.extract_from_file(path, qf=75)
    else:
        f = gfr_fast(path)
    if isinstance(f, dict):
        return np.concatenate([np.asarray(v, np.float32).ravel() for v in f.values()])
    return np.asarray(f, np.float32).ravel()


def _feature_matrix(kind, paths, cache_dir, workers=None):
    """Features of `paths`, cached under a name derived from the path list, so the cover
    features computed for one algorithm are reused by the others."""
    import hashlib
    digest = hashlib.sha1("\n".join(os.path.abspath(p) for p in paths).encode()).hexdigest()[:16]
    cache = os.path.join(cache_dir, f"features_{kind}_{digest}.npy")
    if os.path.exists(cache):
        return np.load(cache), cache
    import functools
    from data_tools.parallel import run_local
    x = np.stack(list(run_local(functools.partial(_features, kind), paths, workers, desc=f"{kind} features",
                                ordered=True)))
    np.save(cache + ".tmp.npy", x)
    os.replace(cache + ".tmp.npy", cache)
    return x, cache


def _fld(paths, seed):
    """FLD ensemble fit and test scores; runs in its own process (torch, pulled in by
    sealwatch, and TensorFlow crash when loaded into one process here)."""
    from sealwatch.ensemble_classifier.fld_ensemble_trainer import FldEnsembleTrainer
    tc, ts, xc, xs = (np.load(p) for p in paths)
    ensemble, _ = FldEnsembleTrainer(tc, ts, seed=seed, verbose=0).train()
    return np.concatenate([ensemble.predict_confidence(xc), ensemble.predict_confidence(xs)])


def rich_model(kind, work, alg, split, seed, workers=None):
    """FLD ensemble on DCTR or GFR features; returns (stego scores, labels, ids, train seconds)."""
    import multiprocessing as mp
    t = time.time()
    train, test = _pairs(work, alg, split["train"] + split.get("val", [])), _pairs(work, alg, split["test"])
    if kind == "gfr":   # in its own process: sealwatch pulls torch, which crashes next to TensorFlow here
        with mp.get_context("spawn").Pool(1) as pool:
            pool.apply(check_gfr_fast, ([train[0][0], train[0][1], test[-1][1]],))
    paths = []
    for pairs in (train, test):
        for side in (0, 1):
            paths.append(_feature_matrix(kind, [pair[side] for pair in pairs], work, workers)[1])
    with mp.get_context("spawn").Pool(1) as pool:
        confidence = pool.apply(_fld, (paths, seed))
    scores = (confidence + 1) / 2
    labels = np.concatenate([np.zeros(len(test)), np.ones(len(test))])
    ids = [c for c, _, _ in _pairs(work, alg, split["test"], with_ids=True)] * 2
    return scores, labels, ids, time.time() - t


def warmup_records(work, alg, payload, seed, workers, split):
    """Records at a larger payload for the curriculum warm-up (same split)."""
    from data_tools.embed import embed
    from data_tools.tfrecords import make_tfrecords
    stego = os.path.join(work, f"stego_{alg}_warmup{payload}")
    embed(os.path.join(work, "covers"), stego, alg, payload, seed=seed, workers=workers)
    out = os.path.join(work, f"records_{alg}_warmup{payload}")
    make_tfrecords(os.path.join(work, "covers"), [stego], out, split=split, workers=workers)
    return out


def _train(name, rec, out, size, steps, seed, batch_pairs, init_from=None):
    from kerastego.training import TrainConfig, train
    lr = 1e-3 if "srnet" in name else 0.01
    return train(TrainConfig(train_data=os.path.join(rec, "train-*"), val_data=os.path.join(rec, "val-*"),
                             out_dir=out, model=name, image_size=size, batch_pairs=batch_pairs, steps=steps,
                             val_every=max(steps // 6, 1), checkpoint_every=max(steps // 6, 1), learning_rate=lr,
                             decay_every=max(steps // 3, 1), seed=seed, verbose=0, init_from=init_from,
                             select_by="p_e"))   # the rule the published table's models were kept by


def deep_model(name, work, alg, size, steps, seed, batch_pairs, warmup=None, warmup_steps=0):
    """Train (optionally after a warm-up at a larger payload) and score the test split:
    (scores, labels, ids, seconds). The seconds are the trainer's own total (warm-up +
    training, summed over resumes)."""
    rec = os.path.join(work, f"records_{alg}")
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
    import keras
    return predict_split(keras.models.load_model(model_path), os.path.join(rec, "test-*"))


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
    _, split = build_data(args.work, args.size, algorithms, args.payload, args.seed, args.workers,
                          args.max_per_source, args.sources)
    ensemble_algs = set(args.ensemble_algorithms.split(",")) if args.ensemble_algorithms else set(algorithms)
    results = {}
    for alg in algorithms:
        results[alg] = {}
        methods = [m for m in plan if alg in plan[m]]
        warm = (warmup_records(args.work, alg, args.warmup_payload, args.seed, args.workers, split)
                if args.warmup_steps and set(methods) - {"dctr", "gfr"} else None)

        def run(method, seed):
            if method in ("dctr", "gfr"):
                return rich_model(method, args.work, alg, split, seed, args.workers)
            warmup_steps, steps = method_steps.get(method, (args.warmup_steps, args.steps))
            return deep_model(method, args.work, alg, args.size, steps, seed, args.batch_pairs, warm, warmup_steps)

        hybrid_scores = []
        for method in methods:
            print(f"\n=== {alg}: {method} ===", flush=True)
            s, y, ids, secs = cached(args.work, alg, method, args.seed, lambda: run(method, args.seed))
            if method == "hybrid-type1":
                hybrid_scores.append((s, y, ids))
            m = summarize(s, y)
            m["train_seconds"] = round(secs, 1)
            if method in DEEP:
                m["conv_params"] = count_conv_params(build_model(method, input_shape=(args.size, args.size, 1)))
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
    re-run (more methods, another algorithm) reuses every finished one. Results saved
    before ids were kept get them back by re-scoring the saved best model (deep models)
    or from the sorted test pairs (rich models, whose order is fixed)."""
    path = os.path.join(work, "results", f"{alg}_{method}_seed{seed}.npz")
    if os.path.exists(path):
        r = np.load(path)
        if "ids" in r:
            return r["scores"], r["labels"], [str(i) for i in r["ids"]], float(r["seconds"])
        seconds = float(r["seconds"])
        if method in DEEP:
            scores, labels, ids = score_test(os.path.join(work, f"train_{alg}_{method}_seed{seed}", "best.keras"),
                                             os.path.join(work, f"records_{alg}"))
        else:
            scores, labels = r["scores"], r["labels"]
            from data_tools.tfrecords import load_split
            split = load_split(os.path.join(work, f"records_{alg}", "split.json"))
            ids = [c for c, _, _ in _pairs(work, alg, split["test"], with_ids=True)] * 2
        result = scores, labels, ids, seconds
    else:
        result = compute()
    scores, labels, ids, seconds = result
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
