"""Source photos and long jobs: a 16-bit photo is scaled, not clipped to white; a dangling
link or a huge PNG is one skipped line while the rest go on; SIGTERM ends the workers
with the job."""
import os
import signal
import struct
import subprocess
import sys
import time
import zlib

import numpy as np
from PIL import Image

from data_tools.covers import make_covers
from data_tools.images import load_grayscale

BIN = os.path.join(os.path.dirname(__file__), "..", "..", "bin")


def test_a_16_bit_photo_is_scaled_to_8_bits(tmp_path):
    ramp = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16)   # 0..65520
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    grey, colour = load_grayscale(str(tmp_path / "deep.png"))
    assert grey.dtype == np.uint8 and not colour
    np.testing.assert_array_equal(grey, np.round(ramp / 257.0).astype(np.uint8))
    assert grey.max() == 255 and (grey == 255).mean() < 0.01     # not saturated white


def _png_claiming(path, width, height):
    """A tiny PNG whose header claims width x height (CRC fixed): nothing big to decode."""
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(path)
    data = bytearray(open(path, "rb").read())
    ihdr = data.find(b"IHDR")
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", width, height)
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr:ihdr + 17])))
    open(path, "wb").write(data)


def test_a_dangling_link_and_a_huge_png_are_skipped_and_the_rest_go_on(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray((np.random.default_rng(0).random((64, 64)) * 255).astype(np.uint8)).save(photos / "good.png")
    os.symlink(tmp_path / "gone.png", photos / "dangling.png")
    _png_claiming(str(photos / "huge.png"), 20000, 20000)
    sources = [(name, str(photos / f"{name}.png")) for name in ("dangling", "good", "huge")]
    records = make_covers(sources, str(tmp_path / "covers"), size=64, workers=1)
    assert [r["source"] for r in records] == ["good"]
    skipped = (tmp_path / "covers" / "skipped.jsonl").read_text()
    assert "dangling.png" in skipped and "dangling link" in skipped
    assert "huge.png" in skipped and "20000x20000 pixels, beyond the limit" in skipped


def _children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def _alive(pid):
    """Running (a zombie, ended but not yet reaped, counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_sigterm_ends_the_embed_workers_with_the_job(small_dataset, tmp_path):
    job = subprocess.Popen([sys.executable, os.path.join(BIN, "embed"),
                            f"--covers_dir={small_dataset['root'] / 'covers'}",
                            f"--out_dir={tmp_path / 'stego'}", "--algorithm=j-uniward", "--payload=0.4",
                            "--workers=2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    workers = []
    while len(workers) < 2 and time.monotonic() < deadline and job.poll() is None:
        workers = [p for p in _children(job.pid)]
        time.sleep(0.1)
    assert len(workers) >= 2, "the pool never started"
    job.send_signal(signal.SIGTERM)
    assert job.wait(timeout=120) != 0
    deadline = time.monotonic() + 60
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(p) for p in workers), "workers outlived the job"
