"""Dataset jobs re-run into the same folder with other settings are refused; cover ids stay
unique per source; a cover of another size or quality is left out and named."""
import os

import numpy as np
import pytest



def test_embed_rerun_with_other_settings_is_refused(small_dataset, tmp_path):
    from data_tools.embed import embed
    from data_tools.manifest import ParameterMismatch
    covers = str(small_dataset["root"] / "covers")
    out = str(tmp_path / "stego")
    embed(covers, out, "nsf5", 0.4, seed=1, workers=1, sources={"camera"})
    before = open(os.path.join(out, "stego.json")).read()
    with pytest.raises(ParameterMismatch, match=r"algorithm='nsf5' there, 'uerd' now.*payload=0.4 there, 1.0 now"):
        embed(covers, out, "uerd", 1.0, seed=1, workers=1, sources={"camera"})
    assert open(os.path.join(out, "stego.json")).read() == before   # the description still tells the truth


def test_make_covers_rerun_with_another_quality_is_refused(tmp_path, real_jpegs):
    from data_tools.covers import make_covers
    from data_tools.manifest import ParameterMismatch
    sources = [("a", str(real_jpegs[0]))]
    make_covers(sources, str(tmp_path / "covers"), size=64, quality=75, workers=1)
    with pytest.raises(ParameterMismatch, match=r"quality=75 there, 95 now"):
        make_covers(sources, str(tmp_path / "covers"), size=64, quality=95, workers=1)


def test_make_tfrecords_rerun_with_another_seed_or_stego_folder_is_refused(small_dataset, tmp_path):
    from data_tools.manifest import ParameterMismatch
    from data_tools.tfrecords import make_tfrecords
    root = small_dataset["root"]
    out = str(tmp_path / "records")
    make_tfrecords(str(root / "covers"), [str(root / "nsf5")], out, seed=3, workers=1)
    split = open(os.path.join(out, "split.json")).read()
    with pytest.raises(ParameterMismatch, match=r"seed=3 there, 4 now"):
        make_tfrecords(str(root / "covers"), [str(root / "nsf5")], out, seed=4, workers=1)
    with pytest.raises(ParameterMismatch, match=r"stego_dirs="):
        make_tfrecords(str(root / "covers"), [str(root / "nsf5"), str(root / "nsf5")], out, seed=3, workers=1)
    assert open(os.path.join(out, "split.json")).read() == split


def test_cover_ids_are_unique_per_source_path(tmp_path):
    import jpeglib
    from skimage import data
    from data_tools.covers import make_covers, sources_from_folder
    src = tmp_path / "src"
    (src / "case").mkdir(parents=True)
    img = np.ascontiguousarray(data.camera()[:64, :64])
    for rel in ("IMG_0001.jpg", "IMG_0001.png", "case/evid.jpg", "case_evid.jpg"):
        if rel.endswith(".png"):
            from PIL import Image
            Image.fromarray(img[::-1]).save(src / rel)
        else:
            jpeglib.from_spatial(img[..., None]).write_spatial(str(src / rel), qt=90)
    records = make_covers(sources_from_folder(str(src)), str(tmp_path / "covers"), size=64, workers=1)
    ids = [c["cover_id"] for r in records for c in r["covers"]]
    assert len(ids) == 4 == len(set(ids)) == len([f for f in os.listdir(tmp_path / "covers") if f.endswith(".jpg")])


def test_bundled_photos_sharing_a_scene_keep_every_cover(tmp_path):
    from data_tools.bundled import bundled_photos
    from data_tools.covers import make_covers
    moto = [s for s in bundled_photos() if s[0] == "motorcycle"]
    assert len(moto) == 2                       # left and right views: one scene, one source for the split
    records = make_covers(moto, str(tmp_path / "covers"), size=128, crop="tiles", stride=128, workers=1)
    ids = [c["cover_id"] for r in records for c in r["covers"]]
    files = [f for f in os.listdir(tmp_path / "covers") if f.endswith(".jpg")]
    assert len(ids) == len(set(ids)) == len(files) and {r["source"] for r in records} == {"motorcycle"}


def test_a_cover_of_another_size_or_quality_is_left_out_and_named(tmp_path, real_jpegs, capsys):
    import jpeglib
    from skimage import data
    from data_tools.covers import make_covers
    from data_tools.embed import embed
    from data_tools.manifest import append_jsonl
    from data_tools.tfrecords import make_tfrecords
    from kerastego.data import count_and_check
    covers = tmp_path / "covers"
    make_covers([(f"p{i}", str(p)) for i, p in enumerate(real_jpegs[:4])], str(covers), size=64, workers=1)
    odd = {"big": (128, 75), "q95": (64, 95)}
    for name, (size, quality) in odd.items():
        pixels = np.ascontiguousarray(data.camera()[:size, :size])[..., None]
        jpeglib.from_spatial(pixels).write_spatial(str(covers / f"{name}.jpg"), qt=quality)
        append_jsonl(str(covers / "covers.jsonl"), [{"source": name, "source_path": name, "quality": quality,
                     "covers": [{"cover_id": name, "file": f"{name}.jpg", "crop": [0, 0, size, size]}]}])
    embed(str(covers), str(tmp_path / "stego"), "nsf5", 0.4, workers=1)
    capsys.readouterr()
    make_tfrecords(str(covers), [str(tmp_path / "stego")], str(tmp_path / "rec"), {"train": 1.0}, workers=1)
    out = capsys.readouterr().out
    assert "big.jpg: cover is 128x128, the set is 64x64" in out
    assert "q95.jpg: cover's quant table (QF~95) differs from the set's (QF~75)" in out
    assert sum(count_and_check(str(tmp_path / "rec" / "train-*")).values()) == 4
