"""Convert a .keras model or architecture .json of kerastego's former format (CPU layer
classes such as ColumnPairConv2D) into the device-neutral one: bin/convert_model OLD NEW."""
import sys


def main(argv=None):
    argv = sys.argv if argv is None else argv
    if len(argv) != 3:
        print("usage: convert_model OLD.keras|OLD.json NEW.keras|NEW.json", file=sys.stderr)
        return 2
    import kerastego  # noqa: F401
    from kerastego.former_format import ModelFormatError, convert
    try:
        found = convert(argv[1], argv[2])
    except (OSError, ModelFormatError) as e:
        print(f"convert_model: {e}", file=sys.stderr)
        return 1
    print(f"convert_model: wrote {argv[2]} ({', '.join(found) or 'nothing'} converted)")
    return 0


def define(flags):
    """No flags: two paths."""
