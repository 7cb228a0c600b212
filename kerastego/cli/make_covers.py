"""Covers from a folder of images (or the bundled photos): crop, grey, JPEG at a QF."""
import sys

from absl import app

from kerastego.cli import command

from data_tools.covers import CROPS


def define(flags):
    flags.DEFINE_string("input_dir", None, "Folder of source images (JPEG/PNG, colour or grey).")
    flags.DEFINE_bool("bundled", False, "Use the real photos bundled with installed packages instead.")
    flags.DEFINE_string("out_dir", None, "Output folder for cover JPEGs and covers.jsonl.", required=True)
    flags.DEFINE_integer("size", 256, "Cover size in pixels (multiple of 8).")
    flags.DEFINE_enum("crop", "left-top", list(CROPS), "Which crop(s) of each source.")
    flags.DEFINE_integer("stride", None, "Tile stride for --crop=tiles (default: size).")
    flags.DEFINE_integer("quality", 75, "JPEG quality factor.")
    flags.DEFINE_integer("max_per_source", None, "Cap on tiles per source image (spread evenly).")
    flags.DEFINE_integer("workers", None, "Local worker processes (default: all cores).")
    flags.DEFINE_string("runner", "local", "'local' process pool, or a Beam runner name (e.g. DirectRunner).")


def job(FLAGS, args):
    from data_tools.bundled import bundled_photos
    from data_tools.covers import make_covers, sources_from_folder
    from kerastego.fileio import FolderInUse
    if bool(FLAGS.input_dir) == FLAGS.bundled:
        raise app.UsageError("give exactly one of --input_dir or --bundled", exitcode=2)
    if not 1 <= FLAGS.quality <= 100:
        raise app.UsageError(f"--quality={FLAGS.quality}: must be in 1..100", exitcode=2)
    if FLAGS.size <= 0 or FLAGS.size % 8:
        raise app.UsageError(f"--size={FLAGS.size}: must be a positive multiple of 8 (JPEG blocks)", exitcode=2)
    sources = bundled_photos() if FLAGS.bundled else sources_from_folder(FLAGS.input_dir)
    try:
        records = make_covers(sources, FLAGS.out_dir, FLAGS.size, FLAGS.crop, FLAGS.stride, FLAGS.quality,
                              workers=FLAGS.workers, runner=FLAGS.runner, max_per_source=FLAGS.max_per_source)
    except (ValueError, FolderInUse) as e:   # a setting out of range, or other settings than the folder's
        print(f"make_covers: {e}", file=sys.stderr)
        return 2
    print(f"make_covers: {sum(len(r['covers']) for r in records)} covers from {len(records)} images in {FLAGS.out_dir}")


main = command(__name__, __doc__, define, job)
