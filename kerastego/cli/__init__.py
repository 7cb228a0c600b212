"""What every binary shares: absl's app.run with a bad flag exiting 2, as documented."""
import os
import sys


def _parse_or_exit_2(argv):
    from absl import flags
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        print(f"{os.path.basename(argv[0])}: {e}", file=sys.stderr)
        sys.exit(2)


def run(main):
    """absl.app.run(main), except that a flag that does not parse is one line on stderr
    and exit status 2 (absl's own exits 1)."""
    from absl import app
    app.run(main, flags_parser=_parse_or_exit_2)
