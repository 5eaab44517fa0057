"""The shapes dataset: 2D squares, ellipses and triangles with 5 ground-truth factors.

`load` returns a `ShapesData`: ground-truth data over the full 276,480-image grid (the
first implementation of `bvae_tf.data.ground_truth.GroundTruthData`: `num_factors`,
`factors_num_values`, `factor_names`, `observation_shape`, `sample_factors`,
`sample_observations_from_factors`, `images_of`) plus `factors_of`, `grid_index`, and the
deduplicated, balanced train/validation/test splits (267,021 images).
The grid stays bit-packed and memory-mapped from the cache; splits are index arrays.

Example:
    >>> from bvae_tf.data import shapes
    >>> data = shapes.load(cache_dir=cache_dir)  # doctest: +SKIP
    >>> len(data.train), len(data.validation), len(data.test)  # doctest: +SKIP
    (186915, 40053, 40053)

References:
    Peychev, Velickovic and Lio (2017), section 4; docs/protocol.md, section 1.
"""

import numbers
import warnings

import numpy as np

from bvae_tf.data import cache, grid
from bvae_tf.data import render as rendering
from bvae_tf.data.render import (
    FACTOR_NAMES,
    FACTORS_NUM_VALUES,
    IMAGE_SHAPE,
    NUM_IMAGES,
    SHAPE_NAMES,
    render,
    render_reference,
)
from bvae_tf.data.views import PackedImages, ShapesSplit, check_images, unpack

SPLIT_NAMES = grid.SPLIT_NAMES

__all__ = [
    "FACTORS_NUM_VALUES",
    "FACTOR_NAMES",
    "IMAGE_SHAPE",
    "NUM_IMAGES",
    "SHAPE_NAMES",
    "SPLIT_NAMES",
    "PackedImages",
    "ShapesData",
    "ShapesSplit",
    "load",
    "render",
    "render_reference",
]


class ShapesData:
    """The full grid as ground truth, and its deduplicated train/validation/test splits.

    Args:
        packed_grid: np.ndarray uint8 (276480, 512), bit-packed images in grid order.
        index: dict of arrays from `bvae_tf.data.grid.build_index`.
        seed: int, the seed of the subsample and the splits.
        path: pathlib.Path or None, the cache directory the grid came from.

    Example:
        >>> data = load()  # doctest: +SKIP
        >>> data.factors_of(data.images_of([[0, 3, 5, 0, 30]])).tolist()  # doctest: +SKIP
        [[0, 3, 4, 0, 0]]
    """

    num_factors = len(FACTOR_NAMES)
    factor_names = FACTOR_NAMES
    shape_names = SHAPE_NAMES
    image_shape = IMAGE_SHAPE
    split_names = SPLIT_NAMES

    def __init__(self, packed_grid, index, seed=0, path=None):
        self.packed_grid = packed_grid
        self.index = index
        self.seed = seed
        self.path = path
        rows = grid.make_splits(index["first_occurrence"], seed)
        self.train, self.validation, self.test = (
            ShapesSplit(name, packed_grid, rows[name]) for name in SPLIT_NAMES
        )

    def with_split_seed(self, seed):
        """Returns this grid with the subsample and split of `seed` (self if it has it).

        Cheap: the grid is shared, only the split indices are drawn.

        Example:
            >>> data = load()  # doctest: +SKIP
            >>> data.with_split_seed(3).seed  # doctest: +SKIP
            3
        """
        seed = _check_seed(seed)
        if seed == self.seed:
            return self
        return ShapesData(self.packed_grid, self.index, seed=seed, path=self.path)

    @property
    def factors_num_values(self):
        """list of int: the number of values of each factor, [3, 16, 16, 6, 60]."""
        return list(FACTORS_NUM_VALUES)

    @property
    def observation_shape(self):
        """list of int: [64, 64, 1], as disentanglement_lib names it."""
        return list(IMAGE_SHAPE)

    def split(self, name):
        """The split called `name`: "train", "validation" or "test".

        Raises:
            ValueError: for any other name.
        """
        if name not in SPLIT_NAMES:
            raise ValueError(f"Unknown split {name!r}: `name` must be one of {SPLIT_NAMES}.")
        return getattr(self, name)

    def sample_factors(self, num, random_state):
        """Factors drawn uniformly and independently over the full grid.

        Args:
            num: int >= 0.
            random_state: int, np.random.RandomState or None (`check_random_state`).

        Returns:
            np.ndarray int64 (num, 5).
        """
        if not isinstance(num, numbers.Integral) or num < 0:
            raise ValueError(f"`num` must be an integer >= 0, got {num!r}.")
        from sklearn.utils import check_random_state  # deferred: sklearn takes ~1 s to import

        random_state = check_random_state(random_state)
        columns = [random_state.randint(size, size=num) for size in FACTORS_NUM_VALUES]
        return np.stack(columns, axis=1).astype(np.int64).reshape(num, self.num_factors)

    def sample_observations_from_factors(self, factors, random_state):
        """Images of the factors as float32 (num, 64, 64, 1); rendering is deterministic.

        Args:
            factors: array-like int (num, 5).
            random_state: unused (the interface's argument; observations are exact).

        Returns:
            np.ndarray float32 (num, 64, 64, 1) of 0.0/1.0.
        """
        del random_state
        return self.images_of(factors).astype(np.float32)[..., None]

    def images_of(self, factors):
        """Images of factor tuples, from the grid.

        Args:
            factors: array-like int (num, 5) or (5,).

        Returns:
            np.ndarray uint8 (num, 64, 64) of 0/1.

        Raises:
            ValueError: if a factor is out of range or the array has the wrong shape.
        """
        return unpack(self.packed_grid[rendering.grid_index(factors)])

    def packed_of(self, factors):
        """Bit-packed images of factor tuples: uint8 (num, 512)."""
        return np.asarray(self.packed_grid[rendering.grid_index(factors)])

    def grid_index(self, factors):
        """Grid rows of factor tuples: int64 (num,); see `bvae_tf.data.render.grid_index`."""
        return rendering.grid_index(factors)

    def factors_of(self, images):
        """Factors of the first grid occurrence of each image.

        Args:
            images: array-like (num, 64, 64) or (num, 64, 64, 1) of 0/1 values.

        Returns:
            np.ndarray int64 (num, 5).

        Raises:
            ValueError: on a wrong shape, values other than 0/1, or an image not in the grid.
        """
        packed = np.packbits(check_images(images).reshape(-1, 64 * 64), axis=1)
        rows = grid.lookup(self.index, self.packed_grid, packed)
        missing = np.flatnonzero(rows < 0)
        if missing.size:
            raise ValueError(
                f"{missing.size} of the `images` are not shapes images (first: row "
                f"{missing[0]}). Pass exact 0/1 grid images; binarise reconstructions first."
            )
        return rendering.factors_at(rows)

    def __repr__(self):
        sizes = ", ".join(f"{name}={len(self.split(name))}" for name in SPLIT_NAMES)
        return f"ShapesData({sizes}, seed={self.seed}, path={str(self.path)!r})"


def _check_seed(seed):
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"`seed` must be an integer >= 0, got {seed!r}.")
    return int(seed)


def build(directory, threads=None, progress=None):
    """Renders the grid, indexes it and writes the cache in `directory` (takes no lock).

    Args:
        directory: pathlib.Path from `bvae_tf.data.cache.shapes_dir`.
        threads: int or None, rendering threads (default `rendering.default_threads()`).
        progress: callable or None, called with the number of bases rendered (1,080 in all).

    Returns:
        dict, the manifest written.
    """
    packed_grid = rendering.build_grid(threads=threads, progress=progress)
    index = grid.build_index(packed_grid)
    return cache.write(directory, packed_grid, index)


def ensure_cache(cache_dir=None, threads=None, progress=None):
    """Builds the cache if it is missing or corrupted; returns its directory and status.

    A corrupted or truncated cache is rebuilt with a warning. Concurrent callers wait for
    one build instead of racing.

    Args:
        cache_dir: str, path or None (`$BVAE_TF_CACHE` or the user cache dir).
        threads: int or None, rendering threads.
        progress: callable or None, see `build`.

    Returns:
        (pathlib.Path, str): the versioned cache directory and "cached", "built" or
        "rebuilt".

    Raises:
        ValueError: if the cache has to be written and `cache_dir` is not writable.
    """
    directory = cache.shapes_dir(cache_dir)
    if cache.check(directory) is None:
        return directory, "cached"
    with cache.build_lock(directory):
        problem = cache.check(directory)
        if problem is None:
            return directory, "cached"
        if problem != "missing":
            warnings.warn(
                f"The shapes cache in {directory} is corrupted ({problem}); rebuilding it.",
                RuntimeWarning,
                stacklevel=3,
            )
        cache.remove_temporaries(directory)
        build(directory, threads=threads, progress=progress)
        return directory, "built" if problem == "missing" else "rebuilt"


def load(cache_dir=None, seed=0):
    """Loads the shapes dataset, building and caching the grid the first time.

    Args:
        cache_dir: str, path or None, default None: `$BVAE_TF_CACHE`, else the user cache
            dir (`$XDG_CACHE_HOME/bvae_tf` or `~/.cache/bvae_tf`). Data go to its
            `shapes-v1/` subdirectory.
        seed: int, default 0. Seed of the subsample of ellipses and triangles, of the
            assignment to splits and of the order within each split.

    Returns:
        ShapesData.

    Raises:
        ValueError: for a negative or non-integer seed, or an unwritable `cache_dir`.

    Example:
        >>> data = load(cache_dir="/tmp/bvae_tf_cache", seed=0)  # doctest: +SKIP
        >>> len(data.train)  # doctest: +SKIP
        186915
    """
    seed = _check_seed(seed)
    directory, _ = ensure_cache(cache_dir)
    packed_grid, index, _ = cache.read(directory)
    return ShapesData(packed_grid, index, seed=seed, path=directory)
