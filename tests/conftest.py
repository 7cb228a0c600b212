"""Split the CPU into two logical devices before any TF op runs, so MirroredStrategy
tests exercise real cross-replica code on a CPU-only machine; session fixtures that
build data sets are built once per run whatever the number of pytest-xdist workers."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])


import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def real_jpegs(tmp_path_factory):
    """A few 64x64 grayscale QF75 JPEGs tiled from scikit-image's bundled photos."""
    import jpeglib
    from skimage import color, data

    out = tmp_path_factory.mktemp("real_jpegs")
    paths = []
    for name in ("camera", "astronaut", "coffee", "chelsea"):
        img = getattr(data, name)()
        if img.ndim == 3:
            img = (color.rgb2gray(img[..., :3]) * 255).round().astype(np.uint8)
        for i, (r, c) in enumerate(((0, 0), (64, 128), (128, 64))):
            tile = np.ascontiguousarray(img[r:r + 64, c:c + 64])
            p = out / f"{name}_{i}.jpg"
            jpeglib.from_spatial(tile[..., None]).write_spatial(str(p), qt=75)
            paths.append(p)
    return paths


@pytest.fixture(scope="session")
def strategy():
    """One MirroredStrategy over the two logical CPUs for the whole session: separate
    strategy objects in one process reuse collective instance keys and collide."""
    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    assert len(devices) == 2
    return tf.distribute.MirroredStrategy(devices)


def built_once(tmp_path_factory, name, build):
    """build(folder)'s JSON-able result, the folder filled once per test run: under
    pytest-xdist every worker holds its own session fixtures, so the first worker to ask
    builds and the others wait for it and reuse the folder (a data set costs the same
    whatever the number of workers). Tests read these folders and never change them."""
    import fcntl
    import json
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    folder, done = base / f"shared-{name}", base / f"shared-{name}.json"
    with open(base / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            folder.mkdir(exist_ok=True)
            done.write_text(json.dumps(build(folder)))
    return json.loads(done.read_text())


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory):
    """Real 64x64 QF75 covers from four bundled photos, nsF5 0.4 stego, pair TFRecords."""
    from pathlib import Path
    built = built_once(tmp_path_factory, "small_dataset", _small_dataset)
    return {"root": Path(built["root"]), "info": built["info"], "records": Path(built["root"]) / "records"}


def _small_dataset(root):
    from data_tools.bundled import bundled_photos
    from data_tools.covers import make_covers
    from data_tools.embed import embed
    from data_tools.tfrecords import make_tfrecords
    sources = [s for s in bundled_photos() if s[0] in ("camera", "astronaut", "coffee", "moon", "brick", "rocket")]
    make_covers(sources, str(root / "covers"), size=64, crop="tiles", quality=75, workers=2)
    embed(str(root / "covers"), str(root / "nsf5"), "nsf5", 0.4, seed=1, workers=2)
    info = make_tfrecords(str(root / "covers"), [str(root / "nsf5")], str(root / "records"),
                          {"train": 0.5, "val": 0.17, "test": 0.33}, seed=3, pairs_per_shard=40, workers=2)
    return {"root": str(root), "info": info}


AUTHORS_CALPA = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "authors", "calpa-net"))


@pytest.fixture(scope="session")
def authors_calpa():
    """The CALPA-NET authors' released checkpoint prefix and rates file. They carry no
    licence, so they are read from ../shared/authors and never copied; tests that need
    them skip with the reason when they are absent."""
    prefix = os.path.join(AUTHORS_CALPA, "Model_438375.ckpt")
    if not os.path.exists(prefix + ".index"):
        pytest.skip(f"the CALPA-NET authors' released files are not at {AUTHORS_CALPA} (../shared/authors/calpa-net)")
    return {"checkpoint": prefix, "rates_cfg": os.path.join(AUTHORS_CALPA, "srnet_juniward_04_threshold05.cfg")}


@pytest.fixture(scope="session")
def juniward_pairs(tmp_path_factory):
    """256x256 QF75 covers tiled from the bundled photos (the model never saw them), at
    most 3 per photo (54 pairs: the authors' model's P_E on them is 0.22, on all 93 tiles
    0.20, so its test keeps its margin and J-UNIWARD runs on 40% fewer covers),
    and their J-UNIWARD 0.4 bpnzAC stego, as conseal simulates it."""
    return [tuple(pair) for pair in built_once(tmp_path_factory, "authors_juniward", _juniward_pairs)]


def _juniward_pairs(root):
    from data_tools.bundled import bundled_photos
    from data_tools.covers import cover_index, make_covers
    from data_tools.embed import embed, stego_index
    make_covers(bundled_photos(), str(root / "covers"), size=256, crop="tiles", stride=256, quality=75, workers=2,
                max_per_source=3)
    embed(str(root / "covers"), str(root / "stego"), "j-uniward", 0.4, seed=0, workers=2)
    covers = cover_index(str(root / "covers"))
    _, stegos = stego_index(str(root / "stego"))
    return [(covers[c]["path"], stegos[c]) for c in sorted(stegos)]


@pytest.fixture(scope="session")
def corpus(tmp_path_factory, real_jpegs):
    """What a corpus scan meets: good QF75 files, a 128x64 one (2 tiles), a QF30 one, a non-JPEG and a cut JPEG."""
    import shutil
    import jpeglib
    from skimage import data
    from kerastego.models import build_model
    from kerastego.models.quality import table_for_quality
    from kerastego.models.record import with_record
    root = tmp_path_factory.mktemp("corpus")
    (root / "sub").mkdir()
    for p in real_jpegs[:6]:
        shutil.copy(p, root / "sub" / p.name)
    wide = data.camera()[:64, :128]
    jpeglib.from_spatial(np.ascontiguousarray(wide)[..., None]).write_spatial(str(root / "wide.jpg"), qt=75)
    jpeglib.from_spatial(np.ascontiguousarray(wide[:, :64])[..., None]).write_spatial(str(root / "qf30.jpg"), qt=30)
    (root / "notes.txt").write_text("not a picture")
    whole = real_jpegs[0].read_bytes()
    (root / "cut.jpg").write_bytes(whole[:len(whole) // 2])
    model = with_record(build_model("hybrid-type2", (64, 64, 1), input_kind="coefficients"), "hybrid",
                        [table_for_quality(75)])
    model.save(root / "model.keras")
    return root


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A freshly built 64x64 hybrid-type2 .keras file (coefficient input), untrained."""
    from kerastego.models import build_model
    path = str(tmp_path_factory.mktemp("model") / "tiny.keras")
    build_model("hybrid-type2", input_shape=(64, 64, 1), input_kind="coefficients").save(path)
    return path


@pytest.fixture(scope="session")
def jax_env():
    """The environment of a child process on the JAX backend, on the CPU. XLA compiles
    without optimising: the children check results, not speed, and their many small
    compiles then take about a fifth less time (outputs still equal TensorFlow's to 1e-5)."""
    return {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "CUDA_VISIBLE_DEVICES": "",
            "XLA_FLAGS": "--xla_backend_optimization_level=0"}
