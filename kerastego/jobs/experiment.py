"""One experiment's data, written once for the demo and the benchmarks: covers tiled
from photos -> stego per (algorithm, payload) -> pair records split by photo, with
one split shared by every record set (so a curriculum warm-up, a mismatch test or a
transfer test never trains on a photo another set tests on). Every step resumes.
"""
import json
import os
import shutil

from data_tools.covers import cover_index, make_covers
from data_tools.embed import embed, stego_index
from data_tools.tfrecords import load_split, make_tfrecords

SPLIT_FILE = "split.json"


class Experiment:
    """A work folder: covers/, stego_<alg>_<payload>/, records_<alg>_<payload>/, split.json."""

    def __init__(self, work, photos, size, crop="tiles", stride=None, quality=75, max_per_source=None, seed=0,
                 workers=None, fractions=None, pairs_per_shard=256):
        self.work, self.photos, self.size, self.crop, self.stride = work, photos, size, crop, stride
        self.quality, self.max_per_source, self.seed, self.workers = quality, max_per_source, seed, workers
        self.fractions = fractions or {"train": 0.6, "val": 0.1, "test": 0.3}
        self.pairs_per_shard = pairs_per_shard
        self.covers_dir = os.path.join(work, "covers")
        self._covers_made = False

    def covers(self):
        """The covers folder, made (or resumed) on the first call of this experiment."""
        if not self._covers_made:
            make_covers(self.photos, self.covers_dir, size=self.size, crop=self.crop, stride=self.stride,
                        quality=self.quality, workers=self.workers, max_per_source=self.max_per_source)
            self._covers_made = True
        return self.covers_dir

    def split(self):
        """The photo split ({name: [sources]}) of the first record set made."""
        path = os.path.join(self.work, SPLIT_FILE)
        return load_split(path) if os.path.exists(path) else None

    def stego(self, algorithm, payload, split_names=None):
        """Stego of every cover (or only of the photos in the named splits)."""
        out = os.path.join(self.work, f"stego_{algorithm}_{payload}")
        sources = None if split_names is None else {s for n in split_names for s in self.split()[n]}
        embed(self.covers(), out, algorithm, payload, seed=self.seed, workers=self.workers, sources=sources)
        return out

    def records(self, algorithm, payload, split_names=None, compress=False):
        """Pair records of (algorithm, payload); the first call draws the split by photo
        and every later call reuses it (split_names: only those splits; compress: GZIP)."""
        stego = self.stego(algorithm, payload, split_names)
        out = os.path.join(self.work, f"records_{algorithm}_{payload}" + ("_gz" if compress else ""))
        split = self.split()
        shards = dict(pairs_per_shard=self.pairs_per_shard, compress=compress, workers=self.workers)
        if split is None or self._drew_split(out):
            make_tfrecords(self.covers_dir, [stego], out, self.fractions, seed=self.seed, **shards)
            shutil.copyfile(os.path.join(out, SPLIT_FILE), os.path.join(self.work, SPLIT_FILE))
        else:
            if split_names is not None:
                split = {n: split[n] for n in split_names}
            make_tfrecords(self.covers_dir, [stego], out, split=split, seed=self.seed, **shards)
        return out

    @staticmethod
    def _drew_split(records):
        """Whether `records` is the set whose run drew the split (a re-run must repeat
        that call, not reuse the split: the folder records how it was made)."""
        path = os.path.join(records, "records.json")
        if not os.path.exists(path):
            return False
        with open(path) as f:
            return json.load(f).get("sources") is None

    def pairs(self, algorithm, payload, split_name):
        """[(cover id, cover path, stego path)] of one split, sorted by cover id."""
        sources = set(self.split()[split_name])
        covers = cover_index(self.covers_dir)
        _, stegos = stego_index(os.path.join(self.work, f"stego_{algorithm}_{payload}"))
        return [(c, covers[c]["path"], stegos[c]) for c in sorted(covers)
                if covers[c]["source"] in sources and c in stegos]
