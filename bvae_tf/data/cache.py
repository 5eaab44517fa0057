"""On-disk cache of the shapes grid: versioned, checksummed, written atomically.

Layout of `<cache_dir>/shapes-v1/`: `grid.npy` (276480 x 512 bit-packed rows, memory-mapped
on load), `index.npz` (first occurrences and the hash table) and `manifest.json` (format
version, counts, byte sizes and sha256 of both files), written last. Every file is written
to a temporary name in the same directory and moved into place with `os.replace`, and a
build holds an exclusive lock, so concurrent builders never leave a mixed cache behind.
"""

import contextlib
import hashlib
import io
import json
import os
import pathlib
import tempfile

import numpy as np

from bvae_tf.data import render

CACHE_ENV = "BVAE_TF_CACHE"
FORMAT_VERSION = 1
SUBDIR = f"shapes-v{FORMAT_VERSION}"
GRID_FILE = "grid.npy"
INDEX_FILE = "index.npz"
MANIFEST_FILE = "manifest.json"
_LOCK_FILE = ".lock"
_READ_CHUNK = 1 << 22


def default_cache_dir():
    """`$BVAE_TF_CACHE`, else `$XDG_CACHE_HOME/bvae_tf`, else `~/.cache/bvae_tf`.

    Returns:
        pathlib.Path.

    Example:
        >>> isinstance(default_cache_dir(), pathlib.Path)
        True
    """
    if os.environ.get(CACHE_ENV):
        return pathlib.Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(base).expanduser() / "bvae_tf"


def shapes_dir(cache_dir=None):
    """The versioned directory holding the shapes cache under `cache_dir`.

    Args:
        cache_dir: str, path or None, default None (`default_cache_dir()`).

    Returns:
        pathlib.Path `<cache_dir>/shapes-v1`.

    Example:
        >>> shapes_dir("/tmp/cache").as_posix()
        '/tmp/cache/shapes-v1'
    """
    root = default_cache_dir() if cache_dir is None else pathlib.Path(cache_dir).expanduser()
    return root / SUBDIR


def sha256_of(path):
    """Hex sha256 of a file, read in chunks (the file is not memory-mapped)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check(directory):
    """Why the cache in `directory` is not usable: None if valid, "missing" or a reason.

    Args:
        directory: pathlib.Path from `shapes_dir`.

    Returns:
        None, "missing" (never built) or a str saying what is corrupted.

    Example:
        >>> check(pathlib.Path("/nonexistent/shapes-v1"))
        'missing'
    """
    manifest_path = directory / MANIFEST_FILE
    if not manifest_path.exists():
        built = any((directory / name).exists() for name in (GRID_FILE, INDEX_FILE))
        return "manifest.json is missing next to the data files" if built else "missing"
    try:
        manifest = json.loads(manifest_path.read_text())
        files = manifest["files"]
        version = manifest["format_version"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        return f"manifest.json is unreadable ({error})"
    if version != FORMAT_VERSION or set(files) != {GRID_FILE, INDEX_FILE}:
        return f"manifest.json has format {version}, expected {FORMAT_VERSION}"
    for name, expected in files.items():
        path = directory / name
        if not path.exists():
            return f"{name} is missing"
        if path.stat().st_size != expected["bytes"]:
            return f"{name} has {path.stat().st_size} bytes, expected {expected['bytes']}"
        if sha256_of(path) != expected["sha256"]:
            return f"{name} does not match its sha256 checksum"
    return None


def _unwritable(directory, error):
    return ValueError(
        f"Cannot write the shapes cache to {directory} ({error}). Pass a writable "
        f"`cache_dir=` (CLI: --cache-dir) or set the {CACHE_ENV} environment variable."
    )


@contextlib.contextmanager
def build_lock(directory):
    """Creates `directory` and holds an exclusive lock on it while building.

    Raises:
        ValueError: if the directory cannot be created or written, naming `cache_dir` and
            `BVAE_TF_CACHE`.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / _LOCK_FILE).touch()
    except OSError as error:
        raise _unwritable(directory, error) from error
    with open(directory / _LOCK_FILE, "rb") as lock:
        try:
            import fcntl
        except ImportError:  # not POSIX: atomic replaces still keep the cache consistent
            yield
            return
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def remove_temporaries(directory):
    """Deletes temporary files left by interrupted writes; call it only under `build_lock`."""
    for name in (GRID_FILE, INDEX_FILE, MANIFEST_FILE):
        for path in directory.glob(f".{name}.*"):
            with contextlib.suppress(OSError):
                path.unlink()


class _HashingWriter:
    """A write-only stream that feeds a sha256 digest and counts bytes on the way."""

    def __init__(self, stream):
        self._stream = stream
        self.digest = hashlib.sha256()
        self.bytes = 0

    def write(self, data):
        self.digest.update(data)
        self.bytes += len(data)
        return self._stream.write(data)


def _atomic_write(directory, name, write):
    """Calls `write(stream)` on a temporary file in `directory`, then moves it to `name`.

    Returns:
        dict with the file's "bytes" and "sha256".
    """
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=directory)
    except OSError as error:
        raise _unwritable(directory, error) from error
    try:
        with os.fdopen(descriptor, "wb") as stream:
            writer = _HashingWriter(stream)
            write(writer)
        os.chmod(temporary, 0o644)
        os.replace(temporary, directory / name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return {"bytes": writer.bytes, "sha256": writer.digest.hexdigest()}


def write(directory, grid, index):
    """Writes the grid, the index and then the manifest, each atomically.

    Files are not fsync-ed: a file torn by a crash fails its checksum and is rebuilt.

    Args:
        directory: pathlib.Path from `shapes_dir` (must exist).
        grid: np.ndarray uint8 (276480, 512).
        index: dict of arrays from `bvae_tf.data.grid.build_index`.

    Returns:
        dict, the manifest written.
    """
    files = {
        GRID_FILE: _atomic_write(directory, GRID_FILE, lambda stream: np.save(stream, grid)),
        INDEX_FILE: _atomic_write(
            directory, INDEX_FILE, lambda stream: _save_index(stream, index)
        ),
    }
    first = index["first_occurrence"]
    kept = first == np.arange(len(first))
    manifest = {
        "format_version": FORMAT_VERSION,
        "dataset": "shapes",
        "num_images": len(grid),
        "packed_bytes": int(grid.shape[1]),
        "factors_num_values": list(render.FACTORS_NUM_VALUES),
        "distinct_per_shape": [int(part.sum()) for part in np.split(kept, 3)],
        "files": files,
    }
    text = json.dumps(manifest, indent=2).encode()
    _atomic_write(directory, MANIFEST_FILE, lambda stream: stream.write(text))
    return manifest


def _save_index(stream, index):
    buffer = io.BytesIO()
    np.savez(buffer, **index)
    stream.write(buffer.getvalue())


def read(directory):
    """Opens a checked cache: the memory-mapped grid, the index and the manifest.

    Returns:
        (grid np.memmap uint8 (276480, 512), index dict of arrays, manifest dict).
    """
    grid = np.load(directory / GRID_FILE, mmap_mode="r")
    with np.load(directory / INDEX_FILE) as stored:
        index = {name: stored[name] for name in stored.files}
    manifest = json.loads((directory / MANIFEST_FILE).read_text())
    return grid, index, manifest
