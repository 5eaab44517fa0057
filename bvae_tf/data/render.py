"""Rendering of the shapes dataset: the Pillow reference and the fast windowed path.

An image depends on (shape, scale, rotation) only up to a translation by (pos_x, pos_y):
Pillow draws and rotates one of 3 * 6 * 60 = 1,080 "bases", and every position is a 64x64
window cut out of the same base. `render_reference` follows the protocol literally, one image
at a time; `render` and `build_grid` render each base once and cut the windows with numpy
stride tricks, bit for bit equal to the reference.

References:
    Peychev, Velickovic and Lio (2017), "Quantifying the Effects of Enforcing Disentanglement
    on Variational Autoencoders", section 4 (the shapes dataset); docs/protocol.md, section 1.
"""

import concurrent.futures
import functools
import math
import os

import numpy as np
from PIL import Image, ImageDraw

FACTOR_NAMES = ("shape", "pos_x", "pos_y", "scale", "rotation")
FACTORS_NUM_VALUES = (3, 16, 16, 6, 60)
SHAPE_NAMES = ("square", "ellipse", "triangle")
IMAGE_SHAPE = (64, 64, 1)
NUM_IMAGES = math.prod(FACTORS_NUM_VALUES)  # 276,480
PACKED_BYTES = IMAGE_SHAPE[0] * IMAGE_SHAPE[1] // 8  # 512

_CANVAS = 128
_CENTRE = 64
_OFFSET = 24  # the shape centre lands at column 24 + pos_x, row 24 + pos_y
_NUM_POSITIONS = FACTORS_NUM_VALUES[1]
_REGION = IMAGE_SHAPE[0] + _NUM_POSITIONS - 1  # 79: the part of a base any window touches
_THRESHOLD = 127.5


def check_factors(factors, name="factors"):
    """Validates factor tuples and returns them as int64 (num, 5).

    Args:
        factors: array-like (num, 5) or (5,) of integers, in the order of `FACTOR_NAMES`.
        name: str, default "factors". The argument name used in error messages.

    Returns:
        np.ndarray int64 (num, 5).

    Raises:
        ValueError: if the shape is not (num, 5), a value is not an integer, or a factor is
            out of its range.

    Example:
        >>> check_factors([0, 15, 15, 5, 59]).shape
        (1, 5)
    """
    array = np.asarray(factors)
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.shape[1] != len(FACTOR_NAMES):
        raise ValueError(
            f"`{name}` must have shape (num, {len(FACTOR_NAMES)}) with columns {FACTOR_NAMES}, "
            f"got shape {np.shape(factors)}. Stack one row of 5 integers per image."
        )
    numeric = array.dtype.kind in "biuf"
    if array.size and not (numeric and np.all(np.equal(np.mod(array, 1), 0))):
        raise ValueError(f"`{name}` must hold integers, got dtype {array.dtype}.")
    array = array.astype(np.int64)
    for column, (factor, size) in enumerate(zip(FACTOR_NAMES, FACTORS_NUM_VALUES)):
        values = array[:, column]
        bad = (values < 0) | (values >= size)
        if bad.any():
            raise ValueError(
                f"`{name}` has {factor} = {values[bad][0]} (column {column}), out of range: "
                f"{factor} takes the values 0..{size - 1}. Clip or redraw that factor."
            )
    return array


def _draw_base(shape, scale, rotation):
    """The rotated, expanded, greyscale Pillow image of one (shape, scale, rotation)."""
    image = Image.new("L", (_CANVAS, _CANVAS), 0)
    draw = ImageDraw.Draw(image)
    centre_x = centre_y = _CENTRE
    radius = scale + 8
    if shape == 0:
        draw.rectangle(
            [(centre_x - radius, centre_y - radius), (centre_x + radius, centre_y + radius)],
            fill=255,
        )
    elif shape == 1:
        draw.ellipse(
            [centre_x - radius // 2, centre_y - radius, centre_x + radius // 2, centre_y + radius],
            fill=255,
        )
    else:
        half_side = radius * math.sqrt(3) / 2
        vertices = [
            (centre_x + half_side, centre_y + radius / 2),
            (centre_x, centre_y - radius),
            (centre_x - half_side, centre_y + radius / 2),
        ]
        draw.polygon(vertices, fill=255)
    return image.rotate(3 * rotation, Image.BICUBIC, expand=True)


def render_reference(factors):
    """Renders images with Pillow, one at a time, literally as the protocol says.

    Args:
        factors: array-like int (num, 5) or (5,): shape, pos_x, pos_y, scale, rotation.

    Returns:
        np.ndarray uint8 (num, 64, 64) of 0/1.

    Raises:
        ValueError: if a factor is out of range or the array has the wrong shape.

    Example:
        >>> int(render_reference([0, 0, 0, 0, 0]).sum())  # a 17x17 square
        289
    """
    factors = check_factors(factors)
    images = np.empty((len(factors), *IMAGE_SHAPE[:2]), np.uint8)
    for row, (shape, pos_x, pos_y, scale, rotation) in enumerate(factors):
        image = _draw_base(int(shape), int(scale), int(rotation))
        width, height = image.size
        left = width // 2 - (_OFFSET + int(pos_x))
        upper = height // 2 - (_OFFSET + int(pos_y))
        window = np.asarray(image.crop((left, upper, left + 64, upper + 64)))
        images[row] = window >= _THRESHOLD
    return images


def _region(shape, scale, rotation):
    """The binarised 79x79 centre of a base (bool): every window of every position lies in it.

    Window (pos_x, pos_y) is region[15 - pos_y : 79 - pos_y, 15 - pos_x : 79 - pos_x].
    """
    image = _draw_base(shape, scale, rotation)
    width, height = image.size
    left = width // 2 - (_OFFSET + _NUM_POSITIONS - 1)
    upper = height // 2 - (_OFFSET + _NUM_POSITIONS - 1)
    region = np.asarray(image.crop((left, upper, left + _REGION, upper + _REGION)))
    return region >= _THRESHOLD


@functools.lru_cache(maxsize=len(SHAPE_NAMES) * 6 * 60)
def _cached_region(shape, scale, rotation):
    region = _region(shape, scale, rotation).astype(np.uint8)
    region.setflags(write=False)
    return region


def render(factors):
    """Renders images fast: each needed base once with Pillow, then 64x64 windows of it.

    Bit for bit equal to `render_reference` (tested on every shape, scale and rotation).

    Args:
        factors: array-like int (num, 5) or (5,): shape, pos_x, pos_y, scale, rotation.

    Returns:
        np.ndarray uint8 (num, 64, 64) of 0/1.

    Raises:
        ValueError: if a factor is out of range or the array has the wrong shape.

    Example:
        >>> bool((render([[2, 3, 4, 5, 6]]) == render_reference([[2, 3, 4, 5, 6]])).all())
        True
    """
    factors = check_factors(factors)
    images = np.empty((len(factors), *IMAGE_SHAPE[:2]), np.uint8)
    for row, (shape, pos_x, pos_y, scale, rotation) in enumerate(factors.tolist()):
        region = _cached_region(shape, scale, rotation)
        last = _NUM_POSITIONS - 1
        images[row] = region[last - pos_y : _REGION - pos_y, last - pos_x : _REGION - pos_x]
    return images


def _packed_windows(shape, scale, rotation):
    """All 16x16 positions of one base, bit-packed: uint8 (pos_x, pos_y, 512)."""
    region = _region(shape, scale, rotation)
    # Rows packed once per column offset: (79 rows, 16 column offsets, 8 bytes).
    columns = np.lib.stride_tricks.sliding_window_view(region, 64, axis=1)
    packed_rows = np.packbits(columns, axis=-1)
    # Windows over rows: (16 row offsets, 16 column offsets, 8 bytes, 64 rows).
    windows = np.lib.stride_tricks.sliding_window_view(packed_rows, 64, axis=0)
    # Offset 15 - pos; transpose to (pos_x, pos_y, rows, bytes).
    windows = windows[::-1, ::-1].transpose(1, 0, 3, 2)
    return windows.reshape(_NUM_POSITIONS, _NUM_POSITIONS, PACKED_BYTES)


def default_threads():
    """Threads used to render the bases: Pillow releases the GIL while rotating."""
    return max(1, min(4, os.cpu_count() or 1))


def build_grid(threads=None, progress=None):
    """Renders the full 276,480-image grid, bit-packed, in the grid's natural order.

    Row index = ((((shape * 16 + pos_x) * 16 + pos_y) * 6 + scale) * 60 + rotation);
    each row is `np.packbits` of the flattened 64x64 image.

    Args:
        threads: int or None, default None (`default_threads()`). Rendering threads.
        progress: callable or None, default None. Called with the number of bases done
            after each (1,080 in all), e.g. a tqdm bar's `update`.

    Returns:
        np.ndarray uint8 (276480, 512).

    Example:
        >>> grid = build_grid()  # doctest: +SKIP
    """
    grid = np.empty((*FACTORS_NUM_VALUES, PACKED_BYTES), np.uint8)
    bases = [
        (shape, scale, rotation)
        for shape in range(FACTORS_NUM_VALUES[0])
        for scale in range(FACTORS_NUM_VALUES[3])
        for rotation in range(FACTORS_NUM_VALUES[4])
    ]

    def fill(base):
        shape, scale, rotation = base
        grid[shape, :, :, scale, rotation] = _packed_windows(shape, scale, rotation)
        return 1

    with concurrent.futures.ThreadPoolExecutor(threads or default_threads()) as executor:
        for done in executor.map(fill, bases):
            if progress is not None:
                progress(done)
    return grid.reshape(NUM_IMAGES, PACKED_BYTES)


def grid_index(factors):
    """Row of each factor tuple in the grid.

    Args:
        factors: array-like int (num, 5) or (5,).

    Returns:
        np.ndarray int64 (num,).

    Raises:
        ValueError: if a factor is out of range or the array has the wrong shape.

    Example:
        >>> grid_index([[0, 0, 0, 0, 1], [2, 15, 15, 5, 59]]).tolist()
        [1, 276479]
    """
    factors = check_factors(factors)
    return np.ravel_multi_index(tuple(factors.T), FACTORS_NUM_VALUES).astype(np.int64)


def factors_at(indices):
    """Factor tuples of grid rows: the inverse of `grid_index`.

    Args:
        indices: array-like int (num,), each in [0, 276480).

    Returns:
        np.ndarray int64 (num, 5).

    Raises:
        ValueError: if an index is outside the grid.

    Example:
        >>> factors_at([276479]).tolist()
        [[2, 15, 15, 5, 59]]
    """
    indices = np.asarray(indices, np.int64).reshape(-1)
    if indices.size and (indices.min() < 0 or indices.max() >= NUM_IMAGES):
        raise ValueError(
            f"`indices` must lie in [0, {NUM_IMAGES}), got {indices.min()}...{indices.max()}."
        )
    return np.stack(np.unravel_index(indices, FACTORS_NUM_VALUES), axis=1).astype(np.int64)
