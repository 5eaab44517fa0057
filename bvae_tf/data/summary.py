"""What `bvae-tf data` prints and draws: cache status, counts, and a labelled mosaic."""

import numpy as np
from PIL import Image, ImageDraw
from sklearn.utils import check_random_state

from bvae_tf.data import render, shapes

_TILE = 128  # each 64x64 image drawn at 2x
_LABEL = 28  # pixels of text under each tile


class LazyProgressBar:
    """A tqdm bar that appears only if called, i.e. only if the cache is being built.

    Example:
        >>> bar = LazyProgressBar(total=1080, desc="Rendering shapes")
        >>> bar.close()  # never shown: nothing was built
    """

    def __init__(self, **tqdm_options):
        self._options = tqdm_options
        self._bar = None

    def __call__(self, done):
        if self._bar is None:
            import tqdm

            self._bar = tqdm.tqdm(**self._options)
        self._bar.update(done)

    def close(self):
        if self._bar is not None:
            self._bar.close()


def count_table(data):
    """Lines of a table: images per split and per shape, with totals.

    Args:
        data: ShapesData.

    Returns:
        list of str.
    """
    names = render.SHAPE_NAMES
    header = f"{'split':<12}" + "".join(f"{name:>10}" for name in names) + f"{'total':>10}"
    lines = [header]
    totals = np.zeros(len(names), np.int64)
    for split_name in shapes.SPLIT_NAMES:
        split = data.split(split_name)
        counts = np.bincount(split.factors[:, 0], minlength=len(names))
        totals += counts
        cells = "".join(f"{count:>10,}" for count in counts)
        lines.append(f"{split_name:<12}{cells}{len(split):>10,}")
    cells = "".join(f"{count:>10,}" for count in totals)
    lines.append(f"{'total':<12}{cells}{totals.sum():>10,}")
    return lines


def report_lines(data, status, elapsed_s):
    """What `bvae-tf data` prints: cache status and path, distinct images, split counts.

    Args:
        data: ShapesData.
        status: str, "cached", "built" or "rebuilt" (from `shapes.ensure_cache`).
        elapsed_s: float, seconds taken.

    Returns:
        list of str.
    """
    verb = {"cached": "verified (sha256)", "built": "built", "rebuilt": "rebuilt"}[status]
    first = data.index["first_occurrence"]
    kept = first == np.arange(len(first))
    distinct = " / ".join(f"{int(part.sum()):,}" for part in np.split(kept, 3))
    return [
        f"shapes cache {verb} in {elapsed_s:.2f} s: {data.path}",
        f"grid: {len(first):,} images; distinct per shape (square/ellipse/triangle): {distinct}",
        f"splits (seed {data.seed}):",
        *count_table(data),
    ]


def _label(factors):
    shape, pos_x, pos_y, scale, rotation = (int(value) for value in factors)
    return [f"{render.SHAPE_NAMES[shape]} s{scale} r{rotation}", f"x{pos_x} y{pos_y}"]


def save_mosaic(data, num, path, random_state=0):
    """Writes a PNG mosaic of `num` random images of the training split with their factors.

    Args:
        data: ShapesData.
        num: int >= 1, the number of images.
        path: str or path of the PNG to write.
        random_state: int, RandomState or None, default 0.

    Returns:
        np.ndarray int64 (num, 5): the factors drawn, in mosaic order.

    Raises:
        ValueError: if `num` is not a positive integer.
    """
    if int(num) != num or num < 1:
        raise ValueError(f"--show / `num` must be a positive integer, got {num!r}.")
    random_state = check_random_state(random_state)
    picks = random_state.choice(
        len(data.train), size=min(int(num), len(data.train)), replace=False
    )
    images = data.train.images[picks]
    factors = data.train.factors[picks]
    columns = int(np.ceil(np.sqrt(len(picks))))
    rows = int(np.ceil(len(picks) / columns))
    mosaic = Image.new("L", (columns * _TILE, rows * (_TILE + _LABEL)), 64)
    draw = ImageDraw.Draw(mosaic)
    for position, (image, factor) in enumerate(zip(images, factors)):
        left, top = (position % columns) * _TILE, (position // columns) * (_TILE + _LABEL)
        tile = Image.fromarray(image * np.uint8(255)).resize((_TILE - 2, _TILE - 2), Image.NEAREST)
        mosaic.paste(tile, (left + 1, top + 1))
        for line, text in enumerate(_label(factor)):
            draw.text((left + 3, top + _TILE + 1 + 13 * line), text, fill=255)
    mosaic.save(path)
    return factors
