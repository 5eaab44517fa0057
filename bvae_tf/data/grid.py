"""Indexing the bit-packed grid: image hashes, first occurrences, deduplication and splits.

The grid is the primary object; the dataset is a view of it. Every row gets a 64-bit hash;
rows with the same hash are checked byte for byte, so the index is exact. Two arrays come
out of it: `first_occurrence` (grid row -> first row within its shape holding the same
image: the deduplication) and a sorted hash table of the distinct images (image -> factors).
"""

import numpy as np

from bvae_tf.data import render

SPLIT_NAMES = ("train", "validation", "test")
TRAIN_FRACTION = 0.7

# Fixed constants: changing them changes the cache format (bump cache.FORMAT_VERSION).
_WORD_KEYS = np.random.RandomState(20170607).randint(
    0, 2**62, size=render.PACKED_BYTES // 8, dtype=np.int64
).astype(np.uint64) * np.uint64(2) + np.uint64(1)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_CHUNK = 8192


def row_hashes(packed):
    """64-bit hashes of bit-packed image rows (a keyed splitmix of each word, summed).

    Args:
        packed: np.ndarray uint8 (num, 512), e.g. the grid or `np.packbits` of images.

    Returns:
        np.ndarray uint64 (num,).

    Example:
        >>> row = np.zeros((1, 512), np.uint8)
        >>> bool(row_hashes(row)[0] == row_hashes(row.copy())[0])
        True
    """
    hashes = np.empty(len(packed), np.uint64)
    with np.errstate(over="ignore"):
        for start in range(0, len(packed), _CHUNK):
            words = np.ascontiguousarray(packed[start : start + _CHUNK]).view(np.uint64)
            mixed = words * _WORD_KEYS
            mixed ^= mixed >> np.uint64(31)
            mixed *= _MIX_1
            mixed ^= mixed >> np.uint64(29)
            mixed *= _MIX_2
            mixed ^= mixed >> np.uint64(32)
            hashes[start : start + _CHUNK] = mixed.sum(axis=1)
    return hashes


def _check_duplicates(packed, first):
    """Raises unless each row equals the row `first` says it repeats (no hash collision)."""
    repeats = np.flatnonzero(first != np.arange(len(first)))
    for start in range(0, len(repeats), _CHUNK):
        rows = repeats[start : start + _CHUNK]
        if not np.array_equal(packed[rows], packed[first[rows]]):
            raise RuntimeError(
                "Two different shapes images share a 64-bit hash; the index cannot be exact. "
                "Please report this as a bug of bvae_tf.data.grid."
            )


def build_index(grid):
    """Deduplication and lookup tables of the grid.

    Rows with equal hashes are compared byte for byte, so both tables are exact.

    Args:
        grid: np.ndarray uint8 (276480, 512), the bit-packed grid in natural order.

    Returns:
        dict of np.ndarray: `first_occurrence` int32 (276480,), the first row within the
        same shape holding the same image (loop order pos_x, pos_y, scale, rotation);
        `hash_keys` uint64 (num_distinct,) sorted, and `hash_rows` (num_distinct,), the
        first grid row of the image with that hash, int32.

    Raises:
        RuntimeError: on a hash collision between different images (never seen).

    Example:
        >>> index = build_index(render.build_grid())  # doctest: +SKIP
    """
    hashes = row_hashes(grid)
    hash_keys, hash_rows, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    _check_duplicates(grid, hash_rows[inverse])
    per_shape = len(grid) // render.FACTORS_NUM_VALUES[0]
    first = np.empty(len(grid), np.int64)
    for shape in range(render.FACTORS_NUM_VALUES[0]):
        block = slice(shape * per_shape, (shape + 1) * per_shape)
        _, rows, inverse = np.unique(hashes[block], return_index=True, return_inverse=True)
        first[block] = rows[inverse] + shape * per_shape
    return {
        "first_occurrence": first.astype(np.int32),
        "hash_keys": hash_keys,
        "hash_rows": hash_rows.astype(np.int32),
    }


def lookup(index, grid, packed):
    """Grid rows of the first occurrence of each bit-packed image, or -1 where absent.

    Args:
        index: dict from `build_index`.
        grid: np.ndarray uint8 (276480, 512).
        packed: np.ndarray uint8 (num, 512).

    Returns:
        np.ndarray int64 (num,).

    Example:
        >>> lookup(index, grid, grid[[7]])  # doctest: +SKIP
        array([7])
    """
    keys, rows = index["hash_keys"], index["hash_rows"]
    hashes = row_hashes(packed)
    position = np.minimum(np.searchsorted(keys, hashes), len(keys) - 1)
    found = rows[position].astype(np.int64)
    found = np.where(keys[position] == hashes, found, -1)
    present = found >= 0
    same = np.all(grid[found[present]] == packed[present], axis=1)
    found[np.flatnonzero(present)[~same]] = -1
    return found


def _split_sizes(total):
    train = round(TRAIN_FRACTION * total)
    test = round((total - train) / 2)
    return train, total - train - test, test


def make_splits(first_occurrence, seed):
    """Deduplicated, balanced, shuffled train/validation/test grid rows.

    Per shape: keep the first occurrence of each distinct image; subsample ellipses and
    triangles at random to the number of distinct squares; shuffle and split 70/15/15
    (train = round(0.7 n); of the rest, test = round(rest / 2), validation the remainder).
    Each split is then shuffled across shapes.

    Args:
        first_occurrence: np.ndarray int (276480,), from `build_index`.
        seed: int, the seed of the subsample, the assignment to splits and the order
            (`np.random.RandomState(seed)`, as `sklearn.utils.check_random_state` makes it).

    Returns:
        dict split name -> np.ndarray int64 of grid rows.

    Example:
        >>> splits = make_splits(index["first_occurrence"], seed=0)  # doctest: +SKIP
        >>> {name: len(rows) for name, rows in splits.items()}  # doctest: +SKIP
        {'train': 186915, 'validation': 40053, 'test': 40053}
    """
    random_state = np.random.RandomState(seed)
    kept = np.flatnonzero(first_occurrence == np.arange(len(first_occurrence))).astype(np.int32)
    per_shape = len(first_occurrence) // render.FACTORS_NUM_VALUES[0]
    by_shape = [kept[kept // per_shape == shape] for shape in range(3)]
    count = len(by_shape[0])
    parts = {name: [] for name in SPLIT_NAMES}
    for rows in by_shape:
        if len(rows) > count:
            rows = np.sort(random_state.choice(rows, size=count, replace=False))
        rows = random_state.permutation(rows)
        train, _, test = _split_sizes(count)
        parts["train"].append(rows[:train])
        parts["test"].append(rows[train : train + test])
        parts["validation"].append(rows[train + test :])
    return {
        name: random_state.permutation(np.concatenate(parts[name])).astype(np.int64)
        for name in SPLIT_NAMES
    }
