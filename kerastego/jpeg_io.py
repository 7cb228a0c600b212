"""Reading and writing JPEG DCT coefficients (luminance), with errors that name the file.

jpeglib is the default reader; jpegio is supported where users have it. The layout
is jpegio's: an (H, W) int16 array where block (i, j) fills rows 8i..8i+7 and
columns 8j..8j+7.
"""
import contextlib
import os
import sys
import tempfile
import threading

import numpy as np

from kerastego.fileio import temporary_path


class JpegError(ValueError):
    """A JPEG that cannot be used, with the file and the problem in the message."""

    def __init__(self, path, problem):
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


def blocks_to_plane(y):
    """jpeglib (H/8, W/8, 8, 8) -> jpegio (H, W) layout."""
    nh, nw = y.shape[:2]
    return y.transpose(0, 2, 1, 3).reshape(nh * 8, nw * 8)


def plane_to_blocks(c):
    """jpegio (H, W) -> jpeglib (H/8, W/8, 8, 8) layout."""
    h, w = c.shape
    return c.reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3)


MAX_SIDE = 16384   # pixels per side; a header claiming more is refused before decoding
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _segments(data):
    """(marker, offset) of the header segments up to and including the first start of scan."""
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:            # fill byte
            i += 1
            continue
        yield marker, i
        if marker == 0xDA:
            return
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")


def header_size(path):
    """(width, height) from the frame header, read without decoding (None if absent).
    Why: a 6 KB file can claim 65500x65500 and make a decoder allocate gigabytes."""
    with open(path, "rb") as f:
        data = f.read(1 << 20)
    for marker, i in _segments(data):
        if marker in _SOF and i + 9 <= len(data):
            return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
    return None


def extra_bytes(path):
    """Bytes after the end-of-image marker of the main image (0 for a clean file), or
    None when the image has no end at all (truncated). The end must come after the main
    scan starts: stuffed entropy-coded data never holds FF D9, while an embedded
    thumbnail (before the main scan) does."""
    with open(path, "rb") as f:
        f.seek(-2, os.SEEK_END)
        if f.read() == b"\xff\xd9":      # the common case: the file ends with its image
            return 0
        f.seek(0)
        data = f.read()
    scan = [i for marker, i in _segments(data) if marker == 0xDA]
    end = data.rfind(b"\xff\xd9")
    if not scan or end < scan[0]:
        return None
    return len(data) - (end + 2)


def _check_file(path):
    if not os.path.exists(path):
        raise JpegError(path, "file not found")
    with open(path, "rb") as f:
        head = f.read(3)
        if head[:2] != b"\xff\xd8":
            raise JpegError(path, "not a JPEG file (no start-of-image marker)")
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 64))
        tail = f.read().rstrip(b"\x00")
    if not tail.endswith(b"\xff\xd9") and extra_bytes(path):
        tail = b"\xff\xd9"          # complete image with data appended after it (detect says so)
    size = header_size(path)
    if size and max(size) > MAX_SIDE:
        raise JpegError(path, f"header claims {size[0]}x{size[1]} pixels, beyond kerastego's limit of "
                              f"{MAX_SIDE} per side (refused before decoding)")
    # libjpeg only warns on a cut file and fills the rest with zeros: refuse it here.
    if not tail.endswith(b"\xff\xd9"):
        raise JpegError(path, "truncated or corrupt JPEG (no end-of-image marker)")


_CAPTURE_LOCK = threading.Lock()
# libjpeg's warnings for entropy-coded data that does not fit the frame header: data that
# ends before the header's last block ("premature end of data segment"), data beyond it
# ("extraneous bytes before marker"), a file cut short, a bad Huffman code.
_DATA_WARNINGS = ("Corrupt JPEG data", "Premature end of JPEG file")


@contextlib.contextmanager
def _libjpeg_messages():
    """The lines libjpeg writes to the C stderr during the block (a list, filled on exit).
    Why: libjpeg only *warns* when the data does not match the header (a 256x256 image
    behind a 4096x4096 header) and fills the missing blocks with zeros, and neither jpeglib
    nor jpegio pass the warning on. Other lines written meanwhile are passed through."""
    messages = []
    with _CAPTURE_LOCK, tempfile.TemporaryFile() as capture:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            yield messages
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode(errors="replace").splitlines()
            messages.extend(line.strip() for line in lines if line.startswith(_DATA_WARNINGS))
            others = [line for line in lines if line.strip() and not line.startswith(_DATA_WARNINGS)]
            if others:
                os.write(2, ("\n".join(others) + "\n").encode())


def _refuse_data_warnings(path, messages):
    if not messages:
        return
    size = header_size(path)
    claimed = f"the {size[0]}x{size[1]} pixels its header claims" if size else "what its header claims"
    if "premature end of data segment" in messages[0]:
        problem = f"its image data ends before {claimed}"
    elif "extraneous bytes" in messages[0]:
        problem = f"its image data goes on beyond {claimed}"
    else:
        problem = "its image data is damaged"
    raise JpegError(path, f"corrupt JPEG: {problem} (libjpeg: {messages[0]}); refused rather than "
                          "analysed with the decoder's filler blocks")


def read_coefficients(path, allow_colour=False, backend="jpeglib"):
    """Return (coefficients int16 (H, W), quant_table float32 (8, 8), is_colour).

    A colour JPEG raises JpegError unless allow_colour, in which case its luminance
    (Y) channel is returned and is_colour is True.
    """
    path = str(path)
    _check_file(path)
    if backend == "jpegio":
        return _read_jpegio(path, allow_colour)
    if backend != "jpeglib":
        raise ValueError(f"unknown JPEG backend {backend!r} (use 'jpeglib' or 'jpegio')")
    import jpeglib
    try:
        with _libjpeg_messages() as messages:
            jpeg = jpeglib.read_dct(path)
            y = np.array(jpeg.Y, dtype=np.int16, copy=True)   # jpeglib decodes lazily: read inside
        _refuse_data_warnings(path, messages)
        if jpeg.has_black:   # CMYK/YCCK: the first channel is cyan (or inverted), not luminance
            raise JpegError(path, f"{str(jpeg.jpeg_color_space).replace('JCS_', '')} JPEG (4 channels): "
                                  "no luminance channel to analyse")
        colour = bool(jpeg.has_chrominance)
        qt = np.array(jpeg.qt[jpeg.quant_tbl_no[0]], dtype=np.float32)
    except JpegError:
        raise
    except Exception as e:  # libjpeg's errors are OSError/RuntimeError with little context
        raise JpegError(path, f"corrupt JPEG ({e})") from e
    if colour and not allow_colour:
        raise JpegError(path, "colour JPEG where a grayscale (luminance) JPEG is needed")
    return blocks_to_plane(y), qt, colour


def _read_jpegio(path, allow_colour):
    import jpegio
    with _libjpeg_messages() as messages:
        obj = jpegio.read(path)  # keep `obj` alive: jpegio 0.2.8 frees arrays with it
    _refuse_data_warnings(path, messages)
    if obj.coef_arrays is None or obj.coef_arrays[0] is None:
        raise JpegError(path, "jpegio could not read the file")
    colour = len(obj.coef_arrays) > 1
    if colour and not allow_colour:
        raise JpegError(path, "colour JPEG where a grayscale (luminance) JPEG is needed")
    coef = np.array(obj.coef_arrays[0], dtype=np.int16, copy=True)
    qt = np.array(obj.quant_tables[0], dtype=np.float32, copy=True)
    del obj
    return coef, qt, colour


def write_coefficients(path, coefficients, template_path):
    """Write `coefficients` (H, W) into a copy of the grayscale JPEG at template_path.

    Everything but the luminance coefficients (tables, markers) comes from the
    template, so a stego file differs from its cover only where the embedding did.
    Written to a temporary name then renamed, so a killed job leaves no half file.
    """
    import jpeglib
    jpeg = jpeglib.read_dct(str(template_path))
    jpeg.Y = plane_to_blocks(np.asarray(coefficients, dtype=np.int16))
    tmp = temporary_path(path)
    jpeg.write_dct(tmp)
    os.replace(tmp, path)
