"""Evaluate trained detector(s) on a TFRecord split: accuracy, P_E, P_FA@P_D, AUC, ROC PNG.

Several --models give the ensemble too (majority vote and mean probability). Mismatch
tests are a matter of the data: train on one algorithm's records, pass another's here,
or records built from centre-cropped covers (make_covers --crop=center)."""
import sys

from absl import app

from kerastego.cli import command
from kerastego.conventions import INFERENCE_PRECISION_HELP, MIXED_PRECISION, TTA_VIEWS


def define(flags):
    flags.DEFINE_list("models", None, "Trained .keras model file(s).", required=True)
    flags.DEFINE_string("test_data", None, "TFRecord pattern of the test split.", required=True)
    flags.DEFINE_string("out_dir", None, "Where report.json and roc.png go.", required=True)
    flags.DEFINE_integer("batch_pairs", 32, "Pairs per inference batch.")
    flags.DEFINE_enum("views", "1", [str(v) for v in TTA_VIEWS],
                      "Test-time views averaged per image: exact flips/rotations of the coefficients "
                      "(costs that many forward passes).")
    flags.DEFINE_bool("allow_partial", False, "Score what can be read when fewer pairs than dataset.json lists "
                      "are there (a warning says how many); by default that is an error naming the problem.")
    flags.DEFINE_enum("mixed_precision", "off", MIXED_PRECISION, INFERENCE_PRECISION_HELP)


def job(FLAGS, args):
    from kerastego.evaluation import evaluate, format_report
    if FLAGS.batch_pairs <= 0:
        raise app.UsageError(f"--batch_pairs={FLAGS.batch_pairs}: must be positive", exitcode=2)
    from kerastego.data import DataError
    try:
        report = evaluate(FLAGS.models, FLAGS.test_data, FLAGS.out_dir, batch_pairs=FLAGS.batch_pairs,
                          views=int(FLAGS.views), allow_partial=FLAGS.allow_partial,
                          mixed_precision=FLAGS.mixed_precision)
    except (DataError, ValueError, OSError) as e:
        print(f"evaluate: {e}", file=sys.stderr)
        return 1
    print(format_report(report))


main = command(__name__, __doc__, define, job)
