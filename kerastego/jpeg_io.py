"""Reading and writing JPEG DCT coefficients (luminance), with errors that name the file.

jpeglib is the default reader; jpegio is supported where users have it. The layout
is jpegio's: an (H, W) int16 array where block (i, j) fills rows 8i..8i+7 and
columns 8j..8j+7.
"""
import contextlib
import io
import os
import sys
import tempfile
import threading
from typing import NamedTuple

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


_STANDALONE = {0x01, *range(0xD0, 0xD9)}   # TEM, RST0-7, SOI: markers without a length
MAX_JUNK = 1 << 20                         # junk bytes before one marker that are skipped, as libjpeg does
# start-of-frame markers libjpeg decodes (baseline, extended sequential, progressive, Huffman-coded)
_SUPPORTED_SOF = {0xC0: "baseline", 0xC1: "extended sequential", 0xC2: "progressive"}
_UNSUPPORTED_SOF = {0xC3: "lossless", 0xC5: "differential sequential", 0xC6: "differential progressive",
                    0xC7: "differential lossless", 0xC9: "arithmetic-coded sequential",
                    0xCA: "arithmetic-coded progressive", 0xCB: "arithmetic-coded lossless",
                    0xCD: "arithmetic-coded differential sequential",
                    0xCE: "arithmetic-coded differential progressive",
                    0xCF: "arithmetic-coded differential lossless"}
_SOF = set(_SUPPORTED_SOF) | set(_UNSUPPORTED_SOF)


def _next_marker(f):
    """The next marker byte after junk and fill bytes, as libjpeg's next_marker reads it
    (None at the end of the file, or after more than MAX_JUNK junk bytes)."""
    junk = 0
    while True:
        b = f.read(1)
        if not b:
            return None
        if b != b"\xff":
            junk += 1
            if junk > MAX_JUNK:
                return None
            continue
        while b == b"\xff":       # fill bytes
            b = f.read(1)
        if not b:
            return None
        if b != b"\x00":
            return b[0]


def frame_header(path):
    """{"marker", "width", "height", "precision"} of the frame header, found the way libjpeg
    finds it (any amount of APP/COM segments skipped by their lengths, junk before a marker
    skipped), without decoding; None when the file has none before its first scan."""
    with open(path, "rb") as f:
        return _frame_in(f)


def _frame_in(f):
    """frame_header of the open file `f`, read from its start."""
    f.seek(0)
    if f.read(2) != b"\xff\xd8":
        return None
    while True:
        marker = _next_marker(f)
        if marker is None or marker in (0xD9, 0xDA):
            return None
        if marker in _STANDALONE:
            continue
        length = int.from_bytes(f.read(2), "big")
        if length < 2:
            return None
        if marker in _SOF:
            body = f.read(5)
            if len(body) < 5:
                return None
            return {"marker": marker, "precision": body[0], "height": int.from_bytes(body[1:3], "big"),
                    "width": int.from_bytes(body[3:5], "big")}
        f.seek(length - 2, os.SEEK_CUR)


def header_size(path):
    """(width, height) from the frame header, read without decoding (None if absent).
    Why: a 6 KB file can claim 65500x65500 and make a decoder allocate gigabytes."""
    frame = frame_header(path)
    return (frame["width"], frame["height"]) if frame else None


def _main_image_end(data):
    """The offset just past the main image's end-of-image marker, walking markers and
    entropy-coded data as a decoder does (stuffed FF 00 and RSTn are data; a thumbnail
    inside an APP segment is skipped with it); None when the image has no end."""
    i = 2
    while i + 1 < len(data):
        j = data.find(b"\xff", i)
        if j < 0 or j + 1 >= len(data):
            return None
        marker = data[j + 1]
        if marker in (0x00, 0xFF) or 0xD0 <= marker <= 0xD7:
            i = j + 1 if marker == 0xFF else j + 2
            continue
        if marker == 0xD9:
            return j + 2
        if marker == 0x01:
            i = j + 2
            continue
        i = j + 2 + int.from_bytes(data[j + 2:j + 4], "big")
    return None


def extra_bytes(path):
    """Bytes after the end-of-image marker of the main image (0 for a clean file), or
    None when the image has no end at all (truncated). A second JPEG appended after the
    first (an MPO, or a hidden image) counts as extra bytes, though the file still ends
    in FF D9."""
    with open(path, "rb") as f:
        return _extra_in(f.read())


def _extra_in(data):
    end = _main_image_end(data)
    return None if end is None else len(data) - end


def _check_frame(path, frame):
    """Refuse, before decoding, a frame header kerastego cannot or must not decode."""
    if frame is None:
        return
    if frame["marker"] in _UNSUPPORTED_SOF:
        raise JpegError(path, f"unsupported JPEG process: {_UNSUPPORTED_SOF[frame['marker']]} "
                              f"(SOF{frame['marker'] - 0xC0}); kerastego reads Huffman-coded baseline, extended "
                              "and progressive JPEGs")
    if frame["precision"] != 8:
        raise JpegError(path, f"unsupported JPEG process: {frame['precision']}-bit samples (8-bit only)")
    if max(frame["width"], frame["height"]) > MAX_SIDE:
        raise JpegError(path, f"header claims {frame['width']}x{frame['height']} pixels, beyond kerastego's limit "
                              f"of {MAX_SIDE} per side (refused before decoding)")


def _checked_bytes(path):
    """(the file's bytes, its extra bytes (extra_bytes)) once it passed every check before
    decoding (missing, not regular, not a JPEG, a frame kerastego cannot or must not decode,
    cut short). The file is opened once and read whole only after its frame header passed;
    what is decoded is these bytes (_private_copy), so the checks hold for it."""
    if not os.path.exists(path):
        raise JpegError(path, "file not found")
    if not os.path.isfile(path):
        raise JpegError(path, "not a regular file")
    with open(path, "rb") as f:
        if f.read(2) != b"\xff\xd8":
            raise JpegError(path, "not a JPEG file (no start-of-image marker)")
        _check_frame(path, _frame_in(f))
        f.seek(0)
        data = f.read()
    _check_frame(path, _frame_in(io.BytesIO(data)))   # the file may have changed since its header was read
    extra = _extra_in(data)
    # libjpeg only warns on a cut file and fills the rest with zeros: refuse it here. A
    # complete image with data appended after it is read (detect says so).
    if not data[-64:].rstrip(b"\x00").endswith(b"\xff\xd9") and not extra:
        raise JpegError(path, "truncated or corrupt JPEG (no end-of-image marker)")
    return data, extra or 0


@contextlib.contextmanager
def _private_copy(data):
    """A path to a copy of `data` that only this process can reach: an anonymous memory
    file where the system has them (Linux), else a temporary file of mode 0600. Why: the
    decoders read a file by path, and jpeglib reads it three times (its bytes, then its
    header pass and its markers), sizing its buffers from the later reads; a file rewritten
    meanwhile could be decoded into buffers sized for another image. The copy cannot change."""
    if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
        fd = os.memfd_create("kerastego-jpeg", os.MFD_CLOEXEC)
        copy, on_disk = f"/proc/self/fd/{fd}", False
    else:
        fd, copy = tempfile.mkstemp(suffix=".jpg")
        on_disk = True
    try:
        with open(fd, "wb", closefd=False) as f:
            f.write(data)
        yield copy
    finally:
        os.close(fd)
        if on_disk:
            os.remove(copy)


_CAPTURE_LOCK = threading.Lock()
_capture = None
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
    global _capture
    messages = []
    with _CAPTURE_LOCK:
        if _capture is None:       # one file for the process: a scan reads many small files
            _capture = tempfile.TemporaryFile()
        capture = _capture
        capture.seek(0)
        capture.truncate()
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


def _refuse_data_warnings(path, messages, data):
    if not messages:
        return
    frame = _frame_in(io.BytesIO(data))
    claimed = f"the {frame['width']}x{frame['height']} pixels its header claims" if frame else "what its header claims"
    if "premature end of data segment" in messages[0]:
        problem = f"its image data ends before {claimed}"
    elif "extraneous bytes" in messages[0]:
        problem = f"its image data goes on beyond {claimed}"
    else:
        problem = "its image data is damaged"
    raise JpegError(path, f"corrupt JPEG: {problem} (libjpeg: {messages[0]}); refused rather than "
                          "analysed with the decoder's filler blocks")


class Luminance(NamedTuple):
    """The luminance of one JPEG: coefficients int16 (H, W), quant_table float32 (8, 8),
    whether the file is colour, and its bytes after the end of image (extra_bytes)."""
    coefficients: np.ndarray
    quant_table: np.ndarray
    colour: bool
    extra_bytes: int


def read_coefficients(path, allow_colour=False, backend="jpeglib"):
    """Return (coefficients int16 (H, W), quant_table float32 (8, 8), is_colour).

    A colour JPEG raises JpegError unless allow_colour, in which case its luminance
    (Y) channel is returned and is_colour is True.
    """
    return read_luminance(path, allow_colour, backend)[:3]


def read_luminance(path, allow_colour=False, backend="jpeglib"):
    """read_coefficients with the file's extra bytes (a Luminance), each check made once,
    on the bytes that are decoded."""
    path = str(path)
    data, extra = _checked_bytes(path)
    if backend not in ("jpeglib", "jpegio"):
        raise ValueError(f"unknown JPEG backend {backend!r} (use 'jpeglib' or 'jpegio')")
    with _private_copy(data) as copy:
        read = _read_jpegio if backend == "jpegio" else _read_jpeglib
        return Luminance(*read(path, copy, data, allow_colour), extra)


def _read_jpeglib(path, copy, data, allow_colour):
    """(coefficients, quant table, colour) of the private `copy` of the file at `path`."""
    import jpeglib
    try:
        with _libjpeg_messages() as messages:
            jpeg = jpeglib.read_dct(copy)
            y = np.array(jpeg.Y, dtype=np.int16, copy=True)   # jpeglib decodes lazily: read inside
        _refuse_data_warnings(path, messages, data)
        if jpeg.has_black:   # CMYK/YCCK: the first channel is cyan (or inverted), not luminance
            raise JpegError(path, f"{str(jpeg.jpeg_color_space).replace('JCS_', '')} JPEG (4 channels): "
                                  "no luminance channel to analyse")
        colour = bool(jpeg.has_chrominance)
        qt = np.array(jpeg.qt[jpeg.quant_tbl_no[0]], dtype=np.float32)
    except JpegError:
        raise
    except Exception as e:  # libjpeg's errors are OSError/RuntimeError with little context, naming the copy
        raise JpegError(path, f"corrupt JPEG ({str(e).replace(copy, path)})") from e
    if colour and not allow_colour:
        raise JpegError(path, "colour JPEG where a grayscale (luminance) JPEG is needed")
    return blocks_to_plane(y), qt, colour


def _read_jpegio(path, copy, data, allow_colour):
    import jpegio
    with _libjpeg_messages() as messages:
        obj = jpegio.read(copy)  # keep `obj` alive: jpegio 0.2.8 frees arrays with it
    _refuse_data_warnings(path, messages, data)
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
