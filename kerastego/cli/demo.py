"""The end-to-end demo (make demo): bundled photos -> stego -> TFRecords -> train -> evaluate."""

from kerastego.cli import command
from kerastego.conventions import SELECT_RULES


def define(flags):
    flags.DEFINE_string("out_dir", "demo_out", "Output folder (re-running resumes).")
    flags.DEFINE_integer("size", 128, "Cover size.")
    flags.DEFINE_integer("stride", 32, "Tile stride over the photos.")
    flags.DEFINE_integer("max_per_source", 300, "Cap on tiles per photo.")
    flags.DEFINE_string("model", "hybrid-type1", "Registered model to train.")
    flags.DEFINE_integer("steps", 1000, "Training steps at the target payload (0.4 bpnzAC).")
    flags.DEFINE_integer("warmup_steps", 300, "Curriculum warm-up steps at 1.0 bpnzAC (0: none).")
    flags.DEFINE_integer("batch_pairs", 16, "Pairs per batch.")
    flags.DEFINE_float("learning_rate", 0.002, "Learning rate at the target payload (after the warm-up).")
    flags.DEFINE_float("warmup_learning_rate", 0.01, "Learning rate of the warm-up.")
    flags.DEFINE_integer("workers", None, "Worker processes for dataset building.")
    flags.DEFINE_integer("seed", 0, "Seed of the photo split, the embedding keys and training.")
    flags.DEFINE_enum("select_by", "accuracy", list(SELECT_RULES),
                      "Model kept: best validation accuracy at threshold 0.5, or lowest validation P_E.")
    flags.DEFINE_integer("precise_bn_batches", 64, "BatchNorm statistics re-estimated over this many training "
                         "batches before each validation and save (0: the running statistics).")


def job(FLAGS, args):
    from kerastego.jobs.demo import run_demo
    run_demo(FLAGS.out_dir, size=FLAGS.size, stride=FLAGS.stride, max_per_source=FLAGS.max_per_source,
             model=FLAGS.model, steps=FLAGS.steps, warmup_steps=FLAGS.warmup_steps,
             batch_pairs=FLAGS.batch_pairs, learning_rate=FLAGS.learning_rate,
             warmup_learning_rate=FLAGS.warmup_learning_rate, workers=FLAGS.workers, seed=FLAGS.seed,
             select_by=FLAGS.select_by, precise_bn_batches=FLAGS.precise_bn_batches)


main = command(__name__, __doc__, define, job)
