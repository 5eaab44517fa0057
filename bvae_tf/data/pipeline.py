"""tf.data input pipelines: per-batch bit unpacking, epoch reshuffles, salt-and-pepper noise.

Each pass over a dataset (each Keras epoch) has an epoch key. By default it is drawn from
`tf.data.Dataset.random(seed, rerandomize_each_iteration=True)`: iterating the same dataset
again (as `model.fit` does each epoch) gives a new order and new noise, and the sequence of
passes is the same for the same `seed` within one process. `set_epoch(dataset, e)` makes
every later pass epoch `e` exactly, keyed by (seed, e) whatever happened before, in any
process: `bvae_tf.training.fit` sets it at the start of every epoch, which is what makes a
resumed run the same run. The order is a stateless shuffle keyed by (seed, epoch key); the
noise of batch b is keyed by `stateless_fold_in((seed, epoch key), b)`.

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
    if not (array.min() >= 0 and array.max() <= 1):  # False for NaN as well
        raise ValueError(f"`split` images must hold finite pixels in [0, 1]; got values from "
                         f"{array.min()} to {array.max()}. Scale them into [0, 1] first (e.g. "
                         "images / 255) and drop NaN.")
    return array.astype(np.float32, copy=False)


def _source(split, take):
    """(table, decode, image_shape): an array of all examples, rows -> float32 images."""
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

        return packed, decode, (height, width, 1)
    images = getattr(split, "images", split)  # e.g. an MnistSplit
    array = _as_array(images if take is None else images[:take])
    return array, tf.identity, array.shape[1:]


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
    order and new noise; the same `seed` gives the same sequence of epochs. The batches are
    decoded and noised on the host's CPU threads; `DeviceBatches` draws the same batches
    inside the training step instead, on an accelerator.

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
    batches = _Batches(split, batch_size, shuffle, seed, noise, amount, noisy_fraction, take,
                       vary_each_epoch, tf.constant)
    dataset = batches.tickets().map(batches.draw, num_parallel_calls=tf.data.AUTOTUNE,
                                    deterministic=True).prefetch(tf.data.AUTOTUNE)
    dataset.epoch_variable = batches.epoch_variable  # found by `set_epoch`
    return dataset


def set_epoch(dataset, epoch):
    """Makes every later pass over `dataset` the pass of epoch `epoch` (None: the default).

    With an epoch set, a pass's order and noise are keyed by (seed, epoch) alone, so epoch
    `e` is the same in every process and after any number of earlier passes. A dataset
    made with `vary_each_epoch=False` repeats its one pass whatever the epoch.

    Args:
        dataset: what `make_dataset` returns, or `DeviceBatches`. Other datasets (already
            transformed, or not made here) have no epoch to set.
        epoch: int >= 0, or None to go back to a new key per pass.

    Returns:
        bool: whether `dataset` has an epoch to set (False: nothing was changed).

    Example:
        >>> dataset = make_dataset(np.zeros((4, 8, 8), np.float32), batch_size=2, seed=3)
        >>> set_epoch(dataset, 5)
        True
        >>> first = [inputs.numpy() for inputs, _ in dataset]
        >>> second = [inputs.numpy() for inputs, _ in dataset]  # epoch 5 again
        >>> all((a == b).all() for a, b in zip(first, second))
        True
    """
    variable = getattr(dataset, "epoch_variable", None)
    if variable is None:
        return False
    if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral)
                              or epoch < 0):
        raise ValueError(f"`epoch` must be None or an integer >= 0, got {epoch!r}.")
    variable.assign(-1 if epoch is None else int(epoch))
    return True


class _Batches:
    """Which rows and which noise seed each batch gets (tickets), and drawing a batch."""

    def __init__(self, split, batch_size, shuffle, seed, noise, amount, noisy_fraction, take,
                 vary_each_epoch, store):
        self.batch_size = _check_count(batch_size, "batch_size")
        take = _check_count(take, "take", allow_none=True)
        amount = _check_fraction(amount, "amount")
        noisy_fraction = _check_fraction(noisy_fraction, "noisy_fraction")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"`seed` must be an integer >= 0, got {seed!r}.")
        table, self._decode, self.image_shape = _source(split, take)
        self.num_examples = len(table)
        self.table = store(table)
        self.noise_options = (amount, noisy_fraction) if noise else None
        self.shuffle, self.seed, self.vary_each_epoch = bool(shuffle), int(seed), bool(
            vary_each_epoch)
        with tf.device("/CPU:0"):  # read by tf.data on the host
            # The epoch `set_epoch` chose, or -1: a new key per pass.
            self.epoch_variable = tf.Variable(-1, dtype=tf.int64, trainable=False)
        self._tickets = self._make_tickets()

    def __len__(self):
        return max(1, self.num_examples // self.batch_size)

    def tickets(self):
        """A dataset of (rows int64 [B], noise seed int64 [2]), one pass per iteration.

        One dataset per object: each pass over it (each epoch) is the next epoch, as with
        the dataset `make_dataset` returns.
        """
        return self._tickets

    def _make_tickets(self):
        num_examples, num_batches, batch_size = self.num_examples, len(self), self.batch_size

        def ticket(key, order, batch):
            start = batch * batch_size
            stop = tf.where(batch == num_batches - 1, tf.cast(num_examples, tf.int64),
                            start + batch_size)
            return order[start:stop], tf.random.experimental.stateless_fold_in(key, batch)

        def epoch(drawn_key):
            chosen = self.epoch_variable.read_value()
            epoch_key = drawn_key if not self.vary_each_epoch else tf.where(
                chosen >= 0, chosen, drawn_key)
            key = tf.stack([tf.constant(self.seed, tf.int64), epoch_key])
            order = tf.range(num_examples, dtype=tf.int64)
            if self.shuffle:
                order = tf.random.experimental.stateless_shuffle(order, seed=key)
            return tf.data.Dataset.range(num_batches).map(lambda batch: ticket(key, order, batch))

        epoch_keys = tf.data.Dataset.random(seed=self.seed,
                                            rerandomize_each_iteration=self.vary_each_epoch)
        dataset = epoch_keys.take(1).flat_map(epoch)
        return dataset.apply(tf.data.experimental.assert_cardinality(num_batches))

    def draw(self, rows, seed):
        """Returns the (inputs, targets) batch of a ticket: decoded rows, noised inputs."""
        targets = self._decode(tf.gather(self.table, rows))
        if self.noise_options is None:
            return targets, targets
        return salt_and_pepper(targets, seed, *self.noise_options), targets


class DeviceBatches(_Batches):
    """The batches of `make_dataset`, drawn inside the training step from device memory.

    `make_dataset` decodes and noises every batch on the host's CPU threads and hands the
    step float32 images (16 KB each at 64 x 64). Two CPU cores do that for about 50,000
    shapes images a second (BENCHMARKS.md, "The input pipeline"), far below what one GPU
    trains the paper's models at. Here the split is stored once in the default device's
    memory as it is (bit-packed shapes: 512 bytes an image), `tf.data` carries only each
    batch's row indices and noise seed (a ticket), and `BetaVAE`'s train and test steps
    draw the batch on the device. The order, noise and batch sizes are `make_dataset`'s,
    bit for bit, for the same arguments.

    Pass it to `BetaVAE.fit` (or `bvae_tf.training.fit`) as `x` or `validation_data`, and to
    `BetaVAE.evaluate`. The arguments are `make_dataset`'s.

    Example:
        >>> images = np.zeros((2500, 28, 28, 1), np.float32)
        >>> batches = DeviceBatches(images, batch_size=1000, noise=True)
        >>> len(batches), batches.image_shape
        (2, (28, 28, 1))
        >>> [int(inputs.shape[0]) for inputs, _ in map(batches, batches.tickets())]
        [1000, 1500]
    """

    def __init__(self, split, batch_size=1000, shuffle=True, seed=0, noise=False, amount=0.2,
                 noisy_fraction=0.9, take=None, vary_each_epoch=True):
        super().__init__(split, batch_size, shuffle, seed, noise, amount, noisy_fraction, take,
                         vary_each_epoch, lambda table: tf.Variable(table, trainable=False))

    @property
    def denoising(self):
        """bool: whether inputs get salt-and-pepper noise (a denoising model's data)."""
        return self.noise_options is not None

    def __call__(self, ticket):
        """Returns the (inputs, targets) batch of a ticket `(rows, seed)`, on the device."""
        return self.draw(*ticket)
