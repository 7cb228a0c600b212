"""Training speed of an older commit against the working tree, interleaved in one run on
the same cores: `benchmarks/train.py` of each, alternately, `--rounds` times per model.

    python benchmarks/compare_commits.py --old 2499a1a --models hybrid-type1,srnet --rounds 3 \\
        --name cpu_rewrite -- --batch 16 --configs off --train_steps 10 --windows 3

The old commit is checked out in a temporary git worktree and run with this venv; each
round runs old then new (then new then old in the next round, so neither side always goes
first). Writes benchmarks/results/<name>.json: every run's row, and per model the new/old
ratio of the mean training img/s and of each round's pair.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, ROOT)
from common import save  # noqa: E402


def _git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def run_train(tree, model, train_args, out_dir, tag):
    """One benchmarks/train.py run of `tree` for `model`; its row."""
    name = f"{tag}_{model}"
    cmd = [sys.executable, os.path.join(tree, "benchmarks", "train.py"), "--models", model, "--name", name,
           *train_args]
    env = {**os.environ, "PYTHONPATH": tree}
    subprocess.run(cmd, check=True, env=env, cwd=tree, stdout=subprocess.DEVNULL)
    with open(os.path.join(tree, "benchmarks", "results", f"{name}.json")) as f:
        row = json.load(f)["results"]["rows"][0]
    os.remove(os.path.join(tree, "benchmarks", "results", f"{name}.json"))
    print(tag, model, row["train_images_per_s"], flush=True)
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", required=True, help="the older commit (any git revision)")
    ap.add_argument("--models", default="hybrid-type1,srnet")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--name", default="compare_commits")
    ap.add_argument("train_args", nargs="*", help="after --: benchmarks/train.py's own flags")
    args = ap.parse_args()
    old_rev = _git("rev-parse", "--short", args.old)
    new_rev = _git("rev-parse", "--short", "HEAD") + (" with changes" if _git("status", "--porcelain") else "")
    with tempfile.TemporaryDirectory() as tmp:
        old_tree = os.path.join(tmp, "old")
        subprocess.run(["git", "worktree", "add", "--detach", old_tree, old_rev], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            runs = {m: {"old": [], "new": []} for m in args.models.split(",")}
            for r in range(args.rounds):
                for model in runs:
                    order = (("old", old_tree), ("new", ROOT)) if r % 2 == 0 else (("new", ROOT), ("old", old_tree))
                    for tag, tree in order:
                        runs[model][tag].append(run_train(tree, model, args.train_args, tmp, tag))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", old_tree], cwd=ROOT, check=False)
    summary = {}
    for model, sides in runs.items():
        rates = {tag: [row["train_images_per_s"] for row in rows] for tag, rows in sides.items()}
        mean = {tag: sum(v) / len(v) for tag, v in rates.items()}
        summary[model] = {"old_train_images_per_s": rates["old"], "new_train_images_per_s": rates["new"],
                          "new_over_old_mean": round(mean["new"] / mean["old"], 3),
                          "new_over_old_per_round": [round(n / o, 3) for n, o in zip(rates["new"], rates["old"])]}
    print(json.dumps(summary, indent=1))
    save(args.name, {"old": old_rev, "new": new_rev, "summary": summary, "runs": runs})


if __name__ == "__main__":
    main()
