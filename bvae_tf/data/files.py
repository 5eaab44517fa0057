"""User-supplied dataset files: where they are looked for, their checksums, their errors.

Nothing downloads. A file is found, in this order, at the `path` argument, at the path in
its environment variable, or in the cache directory (`$BVAE_TF_CACHE`, else
`~/.cache/bvae_tf`) under its original name. Every error names the path, the variable and
where to get the file with its checksum.

Example:
    >>> source = FileSource("demo", "demo.npz", "https://example.org/demo.npz", "md5",
    ...                     "0" * 32, "BVAE_TF_DEMO")
    >>> source.locate(None, cache_dir="/tmp/cache")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: No demo file at /tmp/cache/demo.npz (the cache directory)...
"""

import dataclasses
import hashlib
import os
import pathlib

from bvae_tf.data import cache


@dataclasses.dataclass(frozen=True)
class FileSource:
    """One dataset file the user supplies.

    Attributes:
        dataset: str, the dataset's name in messages ("dSprites").
        file_name: str, the original file name, looked for in the cache directory.
        origin: str, where to get the file.
        algorithm: str, the `hashlib` name of the published checksum ("md5", "sha256").
        checksum: str, hex digest of the original file.
        environment_variable: str, the variable that may hold the file's path.
    """

    dataset: str
    file_name: str
    origin: str
    algorithm: str
    checksum: str
    environment_variable: str

    def how_to_fix(self, cache_dir=None):
        """One sentence: where to get the file, its checksum, and where to put it."""
        return (
            f"Get the original {self.file_name} ({self.origin}, {self.algorithm} "
            f"{self.checksum}) and either set {self.environment_variable}=/path/to/"
            f"{self.file_name} or copy it to {self.cache_path(cache_dir)}."
        )

    def cache_path(self, cache_dir=None):
        """`<cache_dir>/<file_name>` (cache_dir: `bvae_tf.data.cache.default_cache_dir()`)."""
        base = cache.default_cache_dir() if cache_dir is None else cache_dir
        return pathlib.Path(base).expanduser() / self.file_name

    def locate(self, path=None, cache_dir=None):
        """The file's path and what named it: `path`, the variable, or the cache.

        Raises:
            FileNotFoundError: naming the path looked at, the variable and the fix.
        """
        if path is not None:
            found, source = pathlib.Path(path).expanduser(), "the path argument"
        elif os.environ.get(self.environment_variable):
            found = pathlib.Path(os.environ[self.environment_variable]).expanduser()
            source = self.environment_variable
        else:
            found, source = self.cache_path(cache_dir), "the cache directory"
        if not found.is_file():
            raise FileNotFoundError(
                f"No {self.dataset} file at {found} ({source}). {self.how_to_fix(cache_dir)}"
            )
        return found, source

    def verify(self, path, source, cache_dir=None):
        """Checks the file's checksum against the published one.

        Raises:
            ValueError: naming the path, both digests and the fix.
        """
        digest = hashlib.new(self.algorithm)
        with open(path, "rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != self.checksum:
            raise ValueError(
                f"{path} (given by {source}) is not the original {self.file_name}: its "
                f"{self.algorithm} is {digest.hexdigest()}, expected {self.checksum} "
                f"(a truncated or corrupted copy?). {self.how_to_fix(cache_dir)} "
                "A file of the same layout made on purpose loads with verify=False."
            )

    def layout_error(self, path, source, problem, cache_dir=None):
        """A ValueError saying the file at `path` is not of the dataset's layout."""
        return ValueError(
            f"{path} (given by {source}) does not have the layout of {self.file_name}: "
            f"{problem}. {self.how_to_fix(cache_dir)}"
        )
