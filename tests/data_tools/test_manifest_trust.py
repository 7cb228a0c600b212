"""Dataset manifests are untrusted: ids and file names that leave their folder are refused
naming the manifest, nothing outside the named folders is read or written; a cut last
line is repaired, never appended after; a second writer into a folder is refused."""
import json
import os
import shutil

import pytest

from data_tools.covers import cover_index
from data_tools.embed import embed
from data_tools.manifest import ManifestError, append_jsonl, read_jsonl
from kerastego.fileio import FolderInUse, FolderLock


@pytest.fixture
def tree(tmp_path, small_dataset):
    """tmp/data/covers (a copy of 6 real covers and their manifest) beside tmp/secret/sentinel.jpg."""
    src = small_dataset["root"] / "covers"
    covers = tmp_path / "data" / "covers"
    covers.mkdir(parents=True)
    record = read_jsonl(str(src / "covers.jsonl"))[0]
    record = {**record, "covers": record["covers"][:6]}
    for c in record["covers"]:
        shutil.copy(src / c["file"], covers / c["file"])
    shutil.copy(src / "covers.json", covers / "covers.json")
    append_jsonl(str(covers / "covers.jsonl"), [record])
    (tmp_path / "secret").mkdir()
    shutil.copy(covers / record["covers"][0]["file"], tmp_path / "secret" / "private.jpg")
    return {"root": tmp_path, "covers": covers, "record": record}


def _plant(tree, **change):
    record = json.loads(json.dumps(tree["record"]))
    record["covers"][0].update(change)
    manifest = tree["covers"] / "covers.jsonl"
    manifest.write_text(json.dumps(record) + "\n")
    return str(manifest)


def _tree_files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


@pytest.mark.parametrize("change, problem", [
    ({"cover_id": "../../../escape_embed"}, "cover_id '../../../escape_embed' is not a plain file name"),
    ({"file": "../../secret/private.jpg"}, "file '../../secret/private.jpg' is not a plain file name"),
    ({"file": "/etc/passwd"}, "file '/etc/passwd' is not a plain file name"),
    ({"file": ".hidden.jpg"}, "file '.hidden.jpg' is not a plain file name"),
])
def test_a_planted_id_or_path_is_refused_naming_the_manifest(tree, change, problem):
    manifest = _plant(tree, **change)
    before = _tree_files(tree["root"])
    with pytest.raises(ManifestError) as e:
        embed(str(tree["covers"]), str(tree["root"] / "data" / "stego"), "nsf5", 0.4, workers=1)
    assert str(e.value).startswith(manifest + ":1: ") and problem in str(e.value)   # the file and the line
    after = set(_tree_files(tree["root"])) - set(before)
    assert all(p.startswith(os.path.join("data", "stego")) for p in after), after   # nothing written elsewhere


def test_a_symlink_out_of_the_folder_is_refused(tree):
    os.symlink(tree["root"] / "secret" / "private.jpg", tree["covers"] / "link.jpg")
    manifest = _plant(tree, file="link.jpg")
    with pytest.raises(ManifestError, match="resolves outside"):
        cover_index(str(tree["covers"]))
    assert manifest.endswith("covers.jsonl")


def test_a_cut_last_line_is_repaired_and_never_appended_after(tree):
    stego = tree["root"] / "data" / "stego"
    first = embed(str(tree["covers"]), str(stego), "nsf5", 0.4, seed=1, workers=1)
    assert len(first) == 6
    manifest = stego / "stego.jsonl"
    lines = manifest.read_text().splitlines(keepends=True)
    manifest.write_text("".join(lines[:4]) + lines[4][:20])      # a disk full in the 5th line
    assert len(read_jsonl(str(manifest))) == 4                   # the cut line is not a record
    again = embed(str(tree["covers"]), str(stego), "nsf5", 0.4, seed=1, workers=1)
    assert len(again) == 6 and sorted(r["cover_id"] for r in again) == sorted(r["cover_id"] for r in first)
    assert all(json.loads(line) for line in manifest.read_text().splitlines())   # every line whole


def test_a_bad_line_in_the_middle_is_an_error_naming_the_line(tree):
    manifest = tree["covers"] / "covers.jsonl"
    manifest.write_text(manifest.read_text() + "not json\n" + manifest.read_text())
    with pytest.raises(ManifestError, match=r"covers\.jsonl:2: not a JSON line"):
        cover_index(str(tree["covers"]))


def test_a_second_writer_into_a_folder_is_refused_naming_the_holder(tree):
    stego = tree["root"] / "data" / "stego"
    with FolderLock(str(stego), "embed"):
        with pytest.raises(FolderInUse, match=rf"in use by embed \(pid {os.getpid()}\)"):
            embed(str(tree["covers"]), str(stego), "nsf5", 0.4, workers=1)
    assert len(embed(str(tree["covers"]), str(stego), "nsf5", 0.4, workers=1)) == 6   # free again
