"""Sharded cover/stego pair TFRecords, split by source image."""
from absl import app

from kerastego.cli import command


def define(flags):
    flags.DEFINE_string("covers_dir", None, "Output of make_covers.", required=True)
    flags.DEFINE_list("stego_dirs", None, "Output folder(s) of embed.", required=True)
    flags.DEFINE_string("out_dir", None, "Output folder for shards, split.json, dataset.json.", required=True)
    flags.DEFINE_list("splits", ["train=0.5", "test=0.5"], "Split shares, e.g. train=0.6,val=0.1,test=0.3.")
    flags.DEFINE_integer("seed", 0, "Split seed.")
    flags.DEFINE_integer("pairs_per_shard", 256, "Pairs per shard.")
    flags.DEFINE_bool("compress", False, "GZIP-compress the shards.")
    flags.DEFINE_integer("workers", None, "Local worker processes (default: all cores).")
    flags.DEFINE_string("runner", "local", "'local' process pool, or a Beam runner name (e.g. DirectRunner).")


def job(FLAGS, args):
    import sys
    from kerastego.fileio import FolderInUse
    from data_tools.tfrecords import make_tfrecords
    try:
        fractions = {k: float(v) for k, v in (s.split("=") for s in FLAGS.splits)}
    except ValueError:
        raise app.UsageError(f"--splits={','.join(FLAGS.splits)}: expected name=fraction,...", exitcode=2)
    if not fractions or min(fractions.values()) <= 0 or FLAGS.pairs_per_shard <= 0:
        raise app.UsageError("--splits fractions and --pairs_per_shard must be positive", exitcode=2)
    try:
        info = make_tfrecords(FLAGS.covers_dir, FLAGS.stego_dirs, FLAGS.out_dir, fractions, FLAGS.seed,
                              FLAGS.pairs_per_shard, FLAGS.compress, workers=FLAGS.workers, runner=FLAGS.runner)
    except (ValueError, FileNotFoundError, FolderInUse) as e:   # other settings, empty split, no inputs
        print(f"make_tfrecords: {e}", file=sys.stderr)
        return 2
    for name, s in info["splits"].items():
        print(f"{name}: {s['pairs']} pairs from {s['sources']} sources in {len(s['shards'])} shard(s)")


main = command(__name__, __doc__, define, job)
