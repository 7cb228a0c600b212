"""Writing files so a killed job never leaves something that looks finished.

A file is written under a temporary name in its own folder and renamed when whole
(atomic on one file system). The temporary name is hidden (leading dot), so no
output pattern a user globs (`train-*`, `*.jpg`) can ever pick a half-written file up;
a job removes the ones a killed run left before it starts writing.
"""
import glob
import os

_TMP = ".tmp"


def temporary_path(path):
    """Where to write `path` before renaming it into place."""
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}{_TMP}{os.getpid()}")


def remove_stale_temporaries(folder):
    """Delete temporaries of killed runs in `folder` (call before starting workers);
    returns their paths."""
    stale = sorted(glob.glob(os.path.join(glob.escape(folder), f".*{_TMP}[0-9]*")))
    for path in stale:
        os.remove(path)
    return stale
