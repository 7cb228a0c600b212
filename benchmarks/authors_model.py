"""The CALPA-NET authors' released CALPA-SRNet (J-UNIWARD 0.4, QF75, 256x256), imported
with kerastego, scored on stego made from the bundled photos: J-UNIWARD, UERD and nsF5
at 0.4 bpnzAC on 256x256 QF75 tiles, and J-UNIWARD on centre crops at QF75 and QF95.

    python benchmarks/authors_model.py --work /tmp/authors [--checkpoint ../shared/authors/calpa-net/Model_438375.ckpt]

The same figures come from the binaries: make_covers, embed, make_tfrecords (every
pair in one "test" split), import_checkpoint, evaluate (BUILD.md lists the commands).
Writes benchmarks/results/authors_model.json.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import save  # noqa: E402

DEFAULT_CHECKPOINT = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "authors", "calpa-net",
                                  "Model_438375.ckpt")
# (name, crop, stride, quality, algorithm)
CASES = (("tiles QF75", "tiles", 256, 75, "j-uniward"), ("tiles QF75", "tiles", 256, 75, "uerd"),
         ("tiles QF75", "tiles", 256, 75, "nsf5"), ("centre QF75", "center", None, 75, "j-uniward"),
         ("centre QF95", "center", None, 95, "j-uniward"))


def records_for(work, photos, crop, stride, quality, algorithm, payload, seed, workers):
    """Covers, stego and one all-"test" record set for one case; resumable."""
    from data_tools.covers import make_covers
    from data_tools.embed import embed
    from data_tools.tfrecords import make_tfrecords
    covers = os.path.join(work, f"covers_{crop}_q{quality}")
    make_covers(photos, covers, size=256, crop=crop, stride=stride, quality=quality, workers=workers)
    stego = os.path.join(work, f"stego_{crop}_q{quality}_{algorithm}_{payload}")
    embed(covers, stego, algorithm, payload, seed=seed, workers=workers)
    records = stego + "_records"
    make_tfrecords(covers, [stego], records, {"test": 1.0}, seed=seed, workers=workers)
    return os.path.join(records, "test-*")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT)
    ap.add_argument("--payload", type=float, default=0.4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    from data_tools.bundled import bundled_photos
    from kerastego.evaluation import evaluate
    from kerastego.models import import_tf1_checkpoint
    model_path = os.path.join(args.work, "calpa_srnet_authors.keras")
    if not os.path.exists(model_path):
        os.makedirs(args.work, exist_ok=True)
        import_tf1_checkpoint(args.checkpoint).save(model_path)
    rows = []
    for name, crop, stride, quality, algorithm in CASES:
        pattern = records_for(args.work, bundled_photos(), crop, stride, quality, algorithm, args.payload,
                              args.seed, args.workers)
        t = time.time()
        m = evaluate([model_path], pattern, names=["calpa-srnet (authors)"])["models"]["calpa-srnet (authors)"]
        rows.append({"covers": name, "algorithm": algorithm, "payload": args.payload, "pairs": m["n"] // 2,
                     "accuracy": round(m["accuracy"], 4), "p_e": round(m["p_e"], 4), "auc": round(m["auc"], 4),
                     "evaluate_seconds": round(time.time() - t, 1)})
        print(rows[-1], flush=True)
    save("authors_model", {"checkpoint": os.path.abspath(args.checkpoint), "rows": rows})


if __name__ == "__main__":
    main()
