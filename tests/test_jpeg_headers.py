"""JPEG headers are read as libjpeg reads them, before anything is decoded: the size limit
holds behind any amount of APP segments and behind junk bytes, unsupported JPEG processes
are named, a second image after the first is extra data, and only regular files are read."""
import os

import jpeglib
import numpy as np
import pytest

from kerastego.jpeg_io import JpegError, extra_bytes, frame_header, read_coefficients


@pytest.fixture(scope="module")
def jpeg(tmp_path_factory):
    """A real 64x64 QF75 JPEG's bytes and the offset of its frame header (SOF0)."""
    path = tmp_path_factory.mktemp("headers") / "plain.jpg"
    image = (np.random.default_rng(0).random((64, 64)) * 255).astype(np.uint8)
    jpeglib.from_spatial(image[..., None]).write_spatial(str(path), qt=75)
    data = path.read_bytes()
    return data, data.find(b"\xff\xc0")


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(bytes(data))
    return str(path)


def _huge(data, sof):
    """The same file with a frame header claiming 65500x65500."""
    out = bytearray(data)
    out[sof + 5:sof + 9] = (65500).to_bytes(2, "big") * 2
    return out


APP1 = b"\xff\xe1" + (65535).to_bytes(2, "big") + b"\0" * 65533


@pytest.mark.parametrize("hide", ["app_segments", "junk_bytes"])
def test_the_size_limit_holds_for_any_file_libjpeg_would_decode(jpeg, tmp_path, hide):
    data, sof = jpeg
    huge = _huge(data, sof)
    planted = huge[:2] + APP1 * 24 + huge[2:] if hide == "app_segments" else huge[:sof] + b"\x12\x34" + huge[sof:]
    path = _write(tmp_path, f"{hide}.jpg", planted)
    assert frame_header(path)["width"] == 65500
    with pytest.raises(JpegError, match=r"header claims 65500x65500 pixels, beyond kerastego's limit"):
        read_coefficients(path)


@pytest.mark.parametrize("marker, precision, process", [(0xC9, 8, "arithmetic-coded sequential"),
                                                        (0xC3, 8, "lossless"), (0xC0, 12, "12-bit samples")])
def test_unsupported_jpeg_processes_are_named_not_called_corrupt(jpeg, tmp_path, marker, precision, process):
    data, sof = jpeg
    out = bytearray(data)
    out[sof + 1], out[sof + 4] = marker, precision
    with pytest.raises(JpegError, match=f"unsupported JPEG process: {process}"):
        read_coefficients(_write(tmp_path, "process.jpg", out))


def test_a_second_jpeg_after_the_first_is_extra_data(jpeg, tmp_path):
    data, _ = jpeg
    assert extra_bytes(_write(tmp_path, "clean.jpg", data)) == 0
    assert extra_bytes(_write(tmp_path, "mpo.jpg", data + data)) == len(data)
    thumbnail = data[:2] + b"\xff\xe1" + (len(data) + 2).to_bytes(2, "big") + data + data[2:]   # EXIF-like
    assert extra_bytes(_write(tmp_path, "thumb.jpg", thumbnail)) == 0
    assert extra_bytes(_write(tmp_path, "cut.jpg", data[:-300])) is None


def test_only_regular_files_are_read(tmp_path):
    os.mkfifo(tmp_path / "pipe.jpg")
    with pytest.raises(JpegError, match="not a regular file"):
        read_coefficients(str(tmp_path / "pipe.jpg"))
