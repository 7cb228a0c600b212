"""Writing files so a killed job never leaves something that looks finished.

A file is written under a temporary name in its own folder and renamed when whole
(atomic on one file system). The temporary name is hidden (leading dot), so no
output pattern a user globs (`train-*`, `*.jpg`) can ever pick a half-written file up;
a job removes the ones a killed run left before it starts writing.
"""
import glob
import json
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


LOCK_NAME = ".kerastego.lock"


class FolderInUse(RuntimeError):
    """Another live process writes into the same output folder."""


class FolderLock:
    """An exclusive lock on an output folder for one job (`with FolderLock(folder, "train"):`).
    A second writer is refused in one line naming the holder's job and pid; the lock is
    the kernel's (flock), so a killed holder leaves nothing that blocks the next run."""

    def __init__(self, folder, job):
        self.folder, self.job, self._file = folder, job, None

    def __enter__(self):
        import fcntl
        os.makedirs(self.folder, exist_ok=True)
        path = os.path.join(self.folder, LOCK_NAME)
        f = open(path, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            f.close()
            raise FolderInUse(f"{self.folder}: in use by {holder}; wait for it to end or use another folder") from None
        f.seek(0)
        f.truncate()
        f.write(f"{self.job} (pid {os.getpid()})")
        f.flush()
        self._file = f
        return self

    def __exit__(self, *exc):
        self._file.close()   # closing releases the flock
        return False


def holds_folder_lock(job, folder_argument="out_dir"):
    """Decorate a job function so it runs holding FolderLock on its `folder_argument`."""
    import functools
    import inspect

    def wrap(fn):
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def locked(*args, **kwargs):
            folder = signature.bind(*args, **kwargs).arguments[folder_argument]
            with FolderLock(folder, job):
                return fn(*args, **kwargs)
        return locked
    return wrap


def whole_lines(path):
    """(the text of a file's whole lines, the bytes they take, the file's size): a last line
    without its newline is one a kill or a full disk cut, and is not among them."""
    with open(path, "rb") as f:
        data = f.read()
    end = data.rfind(b"\n") + 1
    return data[:end].decode("utf-8", errors="replace"), end, len(data)


def cut_to_whole_lines(path, block=1 << 16):
    """Truncate a line-per-record file (JSON Lines) to its last whole line, so what is
    appended next never follows a cut line; returns the bytes removed. It reads back
    from the end only, so a large file costs no memory."""
    if not os.path.exists(path):
        return 0
    with open(path, "r+b") as f:
        size = end = f.seek(0, os.SEEK_END)
        while end > 0:
            start = max(0, end - block)
            f.seek(start)
            newline = f.read(end - start).rfind(b"\n")
            if newline >= 0:
                end = start + newline + 1
                break
            end = start
        if end < size:
            f.truncate(end)
    return size - end


def write_json(path, payload, **dump_options):
    """Write `payload` as JSON atomically (a temporary file renamed into place): a reader
    never sees half a file, and a kill leaves the former version. NaN is refused."""
    tmp = temporary_path(path)
    with open(tmp, "w") as f:
        json.dump(payload, f, allow_nan=False, **dump_options)
    os.replace(tmp, path)
    return path


def read_versioned_json(path, what):
    """The JSON object at `path` when its "format_version" is kerastego's FORMAT_VERSION;
    ValueError naming the file and the version otherwise."""
    from kerastego.conventions import FORMAT_VERSION
    with open(path) as f:
        payload = json.load(f)
    version = payload.get("format_version") if isinstance(payload, dict) else None
    if version != FORMAT_VERSION:
        raise ValueError(f"{path}: {what} of format {version} (this kerastego reads format {FORMAT_VERSION})")
    return payload
