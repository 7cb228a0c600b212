"""Import a TF1 checkpoint of the CALPA-NET authors' SRNet family (e.g. their released
CALPA-SRNet) as a .keras model kerastego can detect, evaluate, export and fine-tune with."""
import os
import sys

from absl import app

from kerastego.cli import command
from kerastego.conventions import INPUT_KINDS

AUTHORS_TRAINING_QUALITY = 75   # the CALPA-NET authors trained their released models on QF75 (SPEC section 5)


def define(flags):
    flags.DEFINE_string("tf1_checkpoint", None, "Checkpoint prefix, e.g. .../Model_438375.ckpt (the .index file "
                        "without its extension).", required=True)
    flags.DEFINE_string("out", None, "The .keras file to write (not overwritten).", required=True)
    flags.DEFINE_enum("input_kind", "coefficients", list(INPUT_KINDS), "Model input: JPEG coefficients "
                      "(decompressed in-graph) or decompressed pixels.")
    flags.DEFINE_integer("image_size", 256, "Input size (the authors trained at 256; a multiple of 8).")
    flags.DEFINE_integer("training_quality", AUTHORS_TRAINING_QUALITY, "JPEG quality the checkpoint was trained at, "
                         "recorded so detect flags files of another quality (default: the authors' 75).")


def job(FLAGS, args):
    if not FLAGS.out.endswith(".keras"):
        raise app.UsageError(f"--out={FLAGS.out}: the output must be a .keras file", exitcode=2)
    if os.path.exists(FLAGS.out):
        raise app.UsageError(f"--out={FLAGS.out} exists: choose another name", exitcode=2)
    if FLAGS.image_size <= 0 or FLAGS.image_size % 8:
        raise app.UsageError(f"--image_size={FLAGS.image_size}: must be a positive multiple of 8", exitcode=2)
    if not 1 <= FLAGS.training_quality <= 100:
        raise app.UsageError(f"--training_quality={FLAGS.training_quality}: must be in 1..100", exitcode=2)
    from kerastego.models import CheckpointImportError, count_conv_params, import_tf1_checkpoint
    try:
        model = import_tf1_checkpoint(FLAGS.tf1_checkpoint, input_kind=FLAGS.input_kind,
                                      image_size=FLAGS.image_size, training_quality=FLAGS.training_quality)
    except CheckpointImportError as e:
        print(f"import_checkpoint: {e}", file=sys.stderr)
        return 1
    tmp = FLAGS.out[:-len(".keras")] + f".tmp{os.getpid()}.keras"
    model.save(tmp)
    os.replace(tmp, FLAGS.out)
    widths = {l.name: l.filters for l in model.layers if hasattr(l, "filters")}
    print(f"import_checkpoint: wrote {FLAGS.out} ({count_conv_params(model):,} conv params; widths "
          + ", ".join(f"{k} {v}" for k, v in widths.items()) + ")")
    origin = " (the authors' release; --training_quality sets another)" \
        if FLAGS.training_quality == AUTHORS_TRAINING_QUALITY else ""
    print(f"import_checkpoint: recorded training quality QF{FLAGS.training_quality}{origin}: detect flags "
          "files of other qualities")
    return 0


main = command(__name__, __doc__, define, job)
