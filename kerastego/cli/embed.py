"""Stego images from covers with conseal (J-UNIWARD, UERD, nsF5, EBS) at a payload in bpnzAC."""
from absl import app

from kerastego.cli import command

from data_tools.embed import ALGORITHMS


def define(flags):
    flags.DEFINE_string("covers_dir", None, "Output of make_covers.", required=True)
    flags.DEFINE_string("out_dir", None, "Output folder for stego JPEGs and stego.jsonl.", required=True)
    flags.DEFINE_enum("algorithm", "j-uniward", list(ALGORITHMS), "Embedding simulator.")
    flags.DEFINE_float("payload", 0.4, "Payload in bits per non-zero AC coefficient (bpnzAC).")
    flags.DEFINE_integer("seed", 0, "Job seed; each image's seed derives from it and is recorded.")
    flags.DEFINE_integer("workers", None, "Local worker processes (default: all cores).")
    flags.DEFINE_string("runner", "local", "'local' process pool, or a Beam runner name (e.g. DirectRunner).")


def job(FLAGS, args):
    import sys
    from kerastego.fileio import FolderInUse
    from data_tools.embed import embed
    if not 0 < FLAGS.payload <= 1:
        raise app.UsageError(f"--payload={FLAGS.payload}: bpnzAC is in (0, 1] (nsF5 carries at most one bit per "
                             "non-zero AC coefficient, the content-adaptive simulators less)", exitcode=2)
    try:
        records = embed(FLAGS.covers_dir, FLAGS.out_dir, FLAGS.algorithm, FLAGS.payload, FLAGS.seed,
                        workers=FLAGS.workers, runner=FLAGS.runner)
    except (ValueError, FileNotFoundError, FolderInUse) as e:   # other settings than the folder's, no covers
        print(f"embed: {e}", file=sys.stderr)
        return 2
    print(f"embed: {len(records)} stego images in {FLAGS.out_dir}")


main = command(__name__, __doc__, define, job)
