"""Views of the bit-packed grid: a split and its lazily unpacked images."""

import functools

import numpy as np

from bvae_tf.data import render

_HEIGHT, _WIDTH, _ = render.IMAGE_SHAPE


def unpack(packed):
    """Bit-packed rows (num, 512) -> uint8 images (num, 64, 64) of 0/1.

    Example:
        >>> unpack(np.full((1, 512), 255, np.uint8)).sum()
        np.uint64(4096)
    """
    packed = np.asarray(packed)
    return np.unpackbits(packed, axis=-1).reshape(*packed.shape[:-1], _HEIGHT, _WIDTH)


def check_images(images, name="images"):
    """Validates shapes images and returns them as uint8 (num, 64, 64) of 0/1.

    Args:
        images: array-like (num, 64, 64) or (num, 64, 64, 1) holding only 0 and 1.
        name: str, the argument name for error messages.

    Returns:
        np.ndarray uint8 (num, 64, 64).

    Raises:
        ValueError: on another shape or on values other than 0 and 1.
    """
    array = np.asarray(images)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 3 or array.shape[1:] != (_HEIGHT, _WIDTH):
        raise ValueError(
            f"`{name}` must have shape (num, 64, 64) or (num, 64, 64, 1), got "
            f"{np.shape(images)}. Add a batch axis for a single image (images[None])."
        )
    if not np.all((array == 0) | (array == 1)):
        raise ValueError(
            f"`{name}` must hold only 0 and 1 (binary shapes images). Threshold "
            "probabilities first, e.g. (images >= 0.5)."
        )
    return array.astype(np.uint8)


class PackedImages:
    """A lazy (num, 64, 64) uint8 array over bit-packed grid rows: unpacks what is indexed.

    Supports `len`, `shape`, `dtype`, `ndim`, integer/slice/array indexing (e.g.
    `images[:100]`, `images[idx, 10:20]`) and `np.asarray(images)` (unpacks everything:
    186,915 training images take 766 MB unpacked).

    Args:
        packed_grid: np.ndarray uint8 (num_grid, 512), e.g. the memory-mapped grid.
        rows: np.ndarray int64 (num,), the grid rows of this array, in order.

    Example:
        >>> images = PackedImages(np.zeros((3, 512), np.uint8), np.array([2, 0]))
        >>> images.shape, images[1:].shape
        ((2, 64, 64), (1, 64, 64))
    """

    dtype = np.dtype(np.uint8)
    ndim = 3

    def __init__(self, packed_grid, rows):
        self._packed_grid = packed_grid
        self._rows = rows

    @property
    def shape(self):
        """tuple (num, 64, 64)."""
        return (len(self._rows), _HEIGHT, _WIDTH)

    @property
    def packed(self):
        """np.ndarray uint8 (num, 512): the bit-packed rows (a new array on each access)."""
        return np.asarray(self._packed_grid[self._rows])

    def __len__(self):
        return len(self._rows)

    def __getitem__(self, key):
        row_key, rest = (key[0], key[1:]) if isinstance(key, tuple) else (key, ())
        if row_key is Ellipsis:
            row_key, rest = slice(None), (Ellipsis, *rest)
        rows = self._rows[row_key]
        if np.ndim(rows) == 0:
            return unpack(self._packed_grid[int(rows)])[rest]
        return unpack(self._packed_grid[rows])[(slice(None), *rest)]

    def __iter__(self):
        for position in range(len(self)):
            yield self[position]

    def __array__(self, dtype=None, copy=None):
        images = unpack(self._packed_grid[self._rows])
        return images if dtype is None else images.astype(dtype)

    def __repr__(self):
        return f"PackedImages(shape={self.shape}, dtype=uint8)"


class ShapesSplit:
    """One split of the shapes dataset: grid rows, their factors and images.

    Attributes:
        name: str, "train", "validation" or "test".
        indices: np.ndarray int64 (num,), rows of the grid (read-only).
        images: PackedImages (num, 64, 64) uint8 of 0/1, unpacked lazily.
        image_shape: (64, 64, 1).

    Example:
        >>> split = ShapesSplit("test", np.zeros((4, 512), np.uint8), np.array([3, 1]))
        >>> len(split), split.factors.tolist()
        (2, [[0, 0, 0, 0, 3], [0, 0, 0, 0, 1]])
    """

    image_shape = render.IMAGE_SHAPE

    def __init__(self, name, packed_grid, indices):
        self.name = name
        self._packed_grid = packed_grid
        self.indices = np.asarray(indices, np.int64)
        self.indices.setflags(write=False)
        self.images = PackedImages(packed_grid, self.indices)

    def __len__(self):
        return len(self.indices)

    @functools.cached_property
    def factors(self):
        """np.ndarray int64 (num, 5): shape, pos_x, pos_y, scale, rotation of each image."""
        return render.factors_at(self.indices)

    @property
    def packed(self):
        """np.ndarray uint8 (num, 512): `np.packbits` of each flattened image.

        Gathered from the grid on each access (keep a reference rather than re-reading it).
        """
        return self.images.packed

    def __repr__(self):
        return f"ShapesSplit(name={self.name!r}, num={len(self)})"
