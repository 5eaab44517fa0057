"""tf.data input pipelines: per-batch bit unpacking, epoch reshuffles, salt-and-pepper noise.

Every epoch draws a fresh key from `tf.data.Dataset.random(seed, rerandomize_each_iteration=
True)`: iterating the same dataset again (as `model.fit` does each epoch) gives a new order
and new noise, and the sequence of epochs is the same for the same `seed`. The order is a
stateless shuffle keyed by (seed, epoch key); the noise of batch b is keyed by
`stateless_fold_in((seed, epoch key), b)`.

References:
    Peychev, Velickovic and Lio (2017), section 4 (batch 1000, denoising with salt-and-pepper
    noise); docs/protocol.md, sections 1 and 2.
"""

import numbers

import numpy as np
import tensorflow as tf


def salt_and_pepper(images, seed, amount=0.2, noisy_fraction=0.9):
    """Salt-and-pepper noise with stateless random ops.

    Each pixel of the first round(noisy_fraction * B) rows (round half to even) is replaced
    with probability `amount`, by salt (1) or pepper (0) with equal odds, so about
    amount / 2 = 10% of the pixels of a binary image flip. The other rows are unchanged.

    Args:
        images: float tensor [B, ...] with values in [0, 1].
        seed: int tensor of shape [2], the stateless seed.
        amount: float in [0, 1], default 0.2. Probability that a pixel is replaced.
        noisy_fraction: float in [0, 1], default 0.9. Leading fraction of rows to noise
            (the paper's code left the last 10% of each batch clean).

    Returns:
        tf.Tensor with the shape and dtype of `images`.

    Raises:
        ValueError: if `amount` or `noisy_fraction` is outside [0, 1].

    Example:
        >>> images = tf.zeros([10, 64, 64, 1])
        >>> noisy = salt_and_pepper(images, seed=tf.constant([1, 2]))
        >>> bool(tf.reduce_all(noisy[9:] == 0))
        True
    """
    amount = _check_fraction(amount, "amount")
    noisy_fraction = _check_fraction(noisy_fraction, "noisy_fraction")
    images = tf.convert_to_tensor(images)
    batch = tf.shape(images)[0]
    noisy_rows = tf.cast(tf.round(noisy_fraction * tf.cast(batch, tf.float32)), tf.int32)
    head, tail = images[:noisy_rows], images[noisy_rows:]
    uniform = tf.random.stateless_uniform(tf.shape(head), seed=seed, dtype=tf.float32)
    salt_or_pepper = tf.cast(uniform < amount / 2, images.dtype)
    return tf.concat([tf.where(uniform < amount, salt_or_pepper, head), tail], axis=0)


def _check_fraction(value, name):
    if not isinstance(value, numbers.Real) or not 0.0 <= value <= 1.0:
        raise ValueError(f"`{name}` must be a number in [0, 1], got {value!r}.")
    return float(value)


def _check_count(value, name, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
    return int(value)


def _image_shape_of(split, num_bytes):
    image_shape = getattr(split, "image_shape", None)
    if image_shape is None:
        side = round(np.sqrt(num_bytes * 8))
        if side * side != num_bytes * 8:
            raise ValueError(
                f"Cannot tell the image size of packed rows of {num_bytes} bytes: give `split` "
                "an `image_shape` attribute (H, W, 1)."
            )
        image_shape = (side, side)
    return int(image_shape[0]), int(image_shape[1])


def _as_array(images):
    """A (N, H, W, 1) array: float32 in [0, 1], integer/bool arrays mapped to [0, 1]."""
    array = np.asarray(images)
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[-1] != 1 or len(array) == 0:
        raise ValueError(
            f"`split` arrays must have shape (N, H, W) or (N, H, W, 1) with N >= 1, got "
            f"{array.shape}. Pass a ShapesSplit, an object with `.packed`, or such an array."
        )
    if array.dtype.kind in "biu":
        high = array.max()
        if high > 255 or array.min() < 0:
            raise ValueError("Integer `split` images must hold 0/1 or 0..255 values.")
        return array.astype(np.float32) / (255.0 if high > 1 else 1.0)
    if array.dtype.kind != "f":
        raise ValueError(f"`split` images must be numeric, got dtype {array.dtype}.")
    return array.astype(np.float32, copy=False)


def _source(split, take):
    """(table, decode): a tensor of all examples and a function rows -> float32 images."""
    if hasattr(split, "packed"):
        packed = np.asarray(split.packed)
        if take is not None:
            packed = packed[:take]
        if packed.ndim != 2 or packed.dtype != np.uint8 or len(packed) == 0:
            raise ValueError(
                f"`split.packed` must be non-empty uint8 (N, bytes), got {packed.dtype} "
                f"{packed.shape}."
            )
        height, width = _image_shape_of(split, packed.shape[1])
        shifts = tf.constant([7, 6, 5, 4, 3, 2, 1, 0], tf.uint8)

        def decode(rows):
            bits = tf.bitwise.bitwise_and(tf.bitwise.right_shift(rows[..., None], shifts), 1)
            return tf.cast(tf.reshape(bits, [-1, height, width, 1]), tf.float32)

        return tf.constant(packed), decode
    images = getattr(split, "images", split)  # e.g. an MnistSplit
    array = _as_array(images if take is None else images[:take])
    return tf.constant(array), tf.identity


def make_dataset(
    split,
    batch_size=1000,
    shuffle=True,
    seed=0,
    noise=False,
    amount=0.2,
    noisy_fraction=0.9,
    take=None,
    vary_each_epoch=True,
):
    """A `tf.data.Dataset` of (inputs, targets) float32 [B, H, W, 1] batches.

    The last partial batch is merged into the previous one, so every batch has at least
    `batch_size` rows (the last up to 2 * batch_size - 1; a split smaller than
    `batch_size` is one batch). Each iteration of the dataset (each Keras epoch) draws a new
    order and new noise; the same `seed` gives the same sequence of epochs.

    Args:
        split: a `ShapesSplit`, any object with `.packed` (uint8 (N, bytes), bit-packed
            with `np.packbits`) and optionally `.image_shape`, an array (N, H, W) /
            (N, H, W, 1) (float in [0, 1], or integers 0/1 or 0..255), or an object with
            such an array as `.images` (an `MnistSplit`).
        batch_size: int, default 1000 (the paper's).
        shuffle: bool, default True. Reshuffle every epoch.
        seed: int, default 0. Seed of the orders and the noise.
        noise: bool, default False. If True, inputs get `salt_and_pepper` noise and targets
            stay clean (denoising autoencoders).
        amount: float, default 0.2. See `salt_and_pepper`.
        noisy_fraction: float, default 0.9. See `salt_and_pepper`.
        take: int or None, default None. Use only the first `take` examples, before
            shuffling (the paper's "first 40,000 validation images").
        vary_each_epoch: bool, default True. If False, every epoch repeats the first one:
            same order and same noise (a validation set whose loss only moves when the model
            does, for early stopping).

    Returns:
        tf.data.Dataset yielding (inputs, targets), both float32 [B, H, W, 1].

    Raises:
        ValueError: on a bad `split`, a non-positive `batch_size` or `take`, or `amount` /
            `noisy_fraction` outside [0, 1].

    Example:
        >>> images = np.zeros((2500, 28, 28, 1), np.float32)
        >>> dataset = make_dataset(images, batch_size=1000, noise=True)
        >>> [int(inputs.shape[0]) for inputs, _ in dataset]
        [1000, 1500]
    """
    batch_size = _check_count(batch_size, "batch_size")
    take = _check_count(take, "take", allow_none=True)
    amount = _check_fraction(amount, "amount")
    noisy_fraction = _check_fraction(noisy_fraction, "noisy_fraction")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"`seed` must be an integer >= 0, got {seed!r}.")
    table, decode = _source(split, take)
    noise_options = (amount, noisy_fraction) if noise else None
    dataset = _epochs(table, decode, batch_size, shuffle, int(seed), noise_options,
                      bool(vary_each_epoch))
    return dataset.prefetch(tf.data.AUTOTUNE)


def _epochs(table, decode, batch_size, shuffle, seed, noise_options, vary_each_epoch):
    """One pass of batches per iteration, keyed by a fresh epoch key each time."""
    num_examples = int(table.shape[0])
    num_batches = max(1, num_examples // batch_size)

    def batch_of(key, order, batch):
        start = batch * batch_size
        last = batch == num_batches - 1
        stop = tf.where(last, tf.cast(num_examples, tf.int64), start + batch_size)
        targets = decode(tf.gather(table, order[start:stop]))
        if noise_options is None:
            return targets, targets
        batch_seed = tf.random.experimental.stateless_fold_in(key, batch)
        return salt_and_pepper(targets, batch_seed, *noise_options), targets

    def epoch(epoch_key):
        key = tf.stack([tf.constant(seed, tf.int64), epoch_key])
        order = tf.range(num_examples, dtype=tf.int64)
        if shuffle:
            order = tf.random.experimental.stateless_shuffle(order, seed=key)
        return tf.data.Dataset.range(num_batches).map(
            lambda batch: batch_of(key, order, batch),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )

    epoch_keys = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=vary_each_epoch)
    dataset = epoch_keys.take(1).flat_map(epoch)
    return dataset.apply(tf.data.experimental.assert_cardinality(num_batches))
