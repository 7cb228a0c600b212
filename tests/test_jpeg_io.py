"""Reading JPEGs one cannot trust: a header claiming a huge image, CMYK, image data that does
not match its header."""

import numpy as np
import pytest

from harness import with_header_side



def test_header_claiming_a_huge_image_is_refused_before_decoding(tmp_path, real_jpegs):
    from kerastego.jpeg_io import JpegError, header_size, read_coefficients
    data = bytearray(open(real_jpegs[0], "rb").read())
    i = data.index(b"\xff\xc0")                                      # baseline frame header
    data[i + 5:i + 9] = (65500).to_bytes(2, "big") * 2
    path = tmp_path / "liar.jpg"
    path.write_bytes(bytes(data))
    assert header_size(str(path)) == (65500, 65500)
    with pytest.raises(JpegError, match=r"liar.jpg: header claims 65500x65500 pixels, beyond .* 16384 per side"):
        read_coefficients(str(path))


def test_cmyk_is_not_taken_for_luminance(tmp_path):
    from PIL import Image
    from kerastego.jpeg_io import JpegError, read_coefficients
    path = str(tmp_path / "print.jpg")
    Image.fromarray((np.random.default_rng(0).random((64, 64, 4)) * 255).astype(np.uint8), mode="CMYK").save(path)
    with pytest.raises(JpegError, match=r"print.jpg: CMYK JPEG \(4 channels\): no luminance channel to analyse"):
        read_coefficients(path, allow_colour=True)


@pytest.mark.parametrize("backend", ["jpeglib", "jpegio"])
def test_data_that_does_not_match_the_header_is_refused(tmp_path, backend):
    """A 256x256 image behind a 1024x1024 header (libjpeg would fill 15/16 of it with
    zero blocks and give a verdict), and a 512x512 image behind a 256x256 header."""
    import jpeglib
    from skimage import data
    from kerastego.jpeg_io import JpegError, read_coefficients
    if backend == "jpegio":
        pytest.importorskip("jpegio", reason="jpegio is an optional reader")
    for side in (256, 512):
        jpeglib.from_spatial(np.ascontiguousarray(data.camera()[:side, :side])[..., None]).write_spatial(
            str(tmp_path / f"{side}.jpg"), qt=75)
    assert read_coefficients(str(tmp_path / "256.jpg"), backend=backend)[0].shape == (256, 256)
    big = with_header_side(tmp_path / "256.jpg", tmp_path / "big_header.jpg", 1024)
    with pytest.raises(JpegError, match=r"big_header.jpg: corrupt JPEG: its image data ends before the 1024x1024 "
                                        r"pixels its header claims \(libjpeg: .*premature end"):
        read_coefficients(big, backend=backend)
    small = with_header_side(tmp_path / "512.jpg", tmp_path / "small_header.jpg", 256)
    with pytest.raises(JpegError, match=r"small_header.jpg: corrupt JPEG: its image data goes on beyond the "
                                        r"256x256 pixels"):
        read_coefficients(small, backend=backend)


def test_a_file_rewritten_after_its_checks_is_decoded_as_checked(tmp_path, monkeypatch):
    """The decoder gets the bytes that passed the checks, not the file again: a file
    swapped for a larger image right after it was checked still gives the checked image."""
    import jpeglib
    from skimage import data
    from kerastego import jpeg_io
    path = tmp_path / "swapped.jpg"
    for side, name in ((64, "small.jpg"), (512, "large.jpg")):
        jpeglib.from_spatial(np.ascontiguousarray(data.camera()[:side, :side])[..., None]).write_spatial(
            str(tmp_path / name), qt=75)
    path.write_bytes((tmp_path / "small.jpg").read_bytes())
    checked = jpeg_io._checked_bytes

    def check_then_swap(p):
        result = checked(p)
        path.write_bytes((tmp_path / "large.jpg").read_bytes())
        return result
    monkeypatch.setattr(jpeg_io, "_checked_bytes", check_then_swap)
    coefficients, qt, colour = jpeg_io.read_coefficients(str(path))
    expected = jpeg_io.read_coefficients(str(tmp_path / "small.jpg"))[0]
    assert coefficients.shape == (64, 64) and np.array_equal(coefficients, expected)


def test_a_decoder_error_names_the_file_not_its_private_copy(tmp_path):
    """A file that passes the checks but that libjpeg cannot decode (a Huffman table
    segment cut to nothing) is refused with the user's path in the message."""
    from kerastego.jpeg_io import JpegError, read_coefficients
    import jpeglib
    from skimage import data
    jpeglib.from_spatial(np.ascontiguousarray(data.camera()[:64, :64])[..., None]).write_spatial(
        str(tmp_path / "good.jpg"), qt=75)
    raw = bytearray((tmp_path / "good.jpg").read_bytes())
    i = raw.index(b"\xff\xc4")                                        # the first Huffman table segment
    raw[i + 4:i + 21] = bytes(17)                                      # its class and code counts zeroed
    (tmp_path / "bad_huffman.jpg").write_bytes(bytes(raw))
    with pytest.raises(JpegError) as refused:
        read_coefficients(str(tmp_path / "bad_huffman.jpg"))
    message = str(refused.value)
    assert message.startswith(str(tmp_path / "bad_huffman.jpg") + ": corrupt JPEG"), message
    assert "/" not in message.replace(str(tmp_path / "bad_huffman.jpg"), ""), message     # no other path
