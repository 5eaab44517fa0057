"""What a zoo entry trains on: each study's data, and its training and validation pipelines.

Shapes entries train on the shapes training split (salt-and-pepper inputs for the denoising
entries) and validate on the first 40,000 validation images; MNIST entries train on a
per-class subset of the 55,000 training images and validate on the 5,000 validation images.

References:
    Peychev, Velickovic and Lio (2017), section 4; the authors' `run_experiments.go_shapes`
    (`validation[:40000]`, noise on validation inputs too) and `go_mnist`; `docs/protocol.md`.
"""

import numbers

from bvae_tf import zoo
from bvae_tf.data import pipeline

# The paper's early-stopping set: the first 40,000 validation images (authors' go_shapes).
SHAPES_VALIDATION_SIZE = 40_000


def load_data(study, cache_dir=None, mnist_path=None, split_seed=0):
    """Returns the dataset of a study: the shapes grid and its splits, or MNIST.

    Args:
        study: "shapes" or "mnist" (a zoo entry's `dataset`).
        cache_dir: shapes cache directory or None (`$BVAE_TF_CACHE` or the user cache).
        mnist_path: mnist.npz or None (`$BVAE_TF_MNIST`, the Keras cache, then Keras).
        split_seed: int, seed of the shapes subsample and split. Defaults to 0.

    Raises:
        ValueError: for an unknown study or a bad seed.
    """
    if study == "mnist":
        from bvae_tf.data import mnist

        return mnist.load_mnist(mnist_path)
    if study != "shapes":
        raise ValueError(f"Unknown study {study!r}: expected one of {zoo.DATASETS}.")
    from bvae_tf.data import shapes

    return shapes.load(cache_dir=cache_dir, seed=split_seed)


def input_pipeline(choice="auto"):
    """Returns where batches are drawn: "host" or "device" ("auto": device on a GPU).

    Example:
        >>> input_pipeline("host")
        'host'
    """
    if choice not in ("auto", "host", "device"):
        raise ValueError(f"input_pipeline must be 'auto', 'host' or 'device'; got {choice!r}.")
    if choice != "auto":
        return choice
    import tensorflow as tf

    return "device" if tf.config.list_physical_devices("GPU") else "host"


def make_datasets(data, entry, seed=0, train_fraction=None, batch_size=1000,
                  validation_size=None, fresh_validation_noise=True, rounding="floor",
                  on_device=False):
    """Returns `(train_ds, validation_ds)` of (inputs, targets) batches for a zoo entry.

    Args:
        data: `bvae_tf.data.shapes.ShapesData` for shapes entries,
            `bvae_tf.data.mnist.MnistData` for MNIST entries (`zoo.entry(name).dataset`).
        entry: str, a name in `bvae_tf.zoo.NAMES`.
        seed: int, seeds the epoch orders, the noise and the MNIST subset. Defaults to 0.
        train_fraction: float in (0, 1] or None (all). Shapes: the first
            round(fraction * N) training images (the split's order is already random);
            MNIST: that fraction of every class (`subset_per_class`, the paper's 10%, 30%).
        batch_size: int. Defaults to 1000 (paper).
        validation_size: int or None: the first `validation_size` validation images.
            Defaults to None: 40,000 for shapes (paper), all 5,000 for MNIST.
        fresh_validation_noise: bool, whether a denoising entry's validation inputs get new
            noise every epoch (the authors) rather than the same noise. Defaults to True.
        rounding: "floor" (the authors) or "round": size of each class's MNIST subset.
        on_device: bool, whether to return `pipeline.DeviceBatches` (the same batches, drawn
            inside the training step from device memory) instead of `tf.data.Dataset`s.
            Defaults to False.

    Returns:
        (train_ds, validation_ds): `tf.data.Dataset`s (or `DeviceBatches`); training
        reshuffles every epoch, validation keeps its order. Denoising entries get noisy
        inputs in both.

    Raises:
        ValueError: on an unknown entry, data of the wrong dataset or a bad fraction.

    Example:
    >>> from bvae_tf.data import mnist
    >>> data = mnist.load_mnist()  # doctest: +SKIP
    >>> train, validation = make_datasets(data, "mnist_fc", train_fraction=0.1)  # doctest: +SKIP
    """
    item = zoo.entry(entry)
    if train_fraction is not None and not _is_fraction(train_fraction):
        raise ValueError(f"train_fraction must be None or in (0, 1]; got {train_fraction!r}.")
    make = pipeline.DeviceBatches if on_device else pipeline.make_dataset
    if item.dataset == "mnist":
        return _mnist_datasets(make, data, seed, train_fraction, batch_size, validation_size,
                               rounding)
    if not hasattr(data, "train") or not hasattr(data.train, "packed"):
        raise ValueError(
            f"Zoo entry {entry!r} trains on the shapes dataset: pass "
            f"bvae_tf.data.shapes.load(); got {type(data).__name__}."
        )
    take = None if train_fraction is None else max(1, round(train_fraction * len(data.train)))
    train = make(data.train, batch_size, shuffle=True, seed=seed, noise=item.denoising,
                 take=take)
    validation = make(
        data.validation, batch_size, shuffle=False, seed=seed, noise=item.denoising,
        take=min(validation_size or SHAPES_VALIDATION_SIZE, len(data.validation)),
        vary_each_epoch=fresh_validation_noise,
    )
    return train, validation


def mnist_training_subset(data, fraction, seed, rounding="floor"):
    """Returns the `MnistSplit` an MNIST trial trains on: `fraction` of every class.

    Args:
        data: `bvae_tf.data.mnist.MnistData`.
        fraction: float in (0, 1] or None (all 55,000 training images).
        seed: int, seeds the draw (`subset_per_class`).
        rounding: "floor" (the authors) or "round", see `subset_per_class`.
    """
    from bvae_tf.data import mnist

    if fraction is None:
        return data.train
    indices = mnist.subset_per_class(data.train.labels, fraction, seed, rounding)
    return mnist.MnistSplit(data.train.images[indices], data.train.labels[indices])


def _mnist_datasets(make, data, seed, train_fraction, batch_size, validation_size, rounding):
    if not hasattr(data, "train") or not hasattr(data.train, "labels"):
        raise ValueError(
            "MNIST zoo entries train on MNIST: pass bvae_tf.data.mnist.load_mnist(); got "
            f"{type(data).__name__}."
        )
    train_split = mnist_training_subset(data, train_fraction, seed, rounding)
    train = make(train_split.images, batch_size, shuffle=True, seed=seed)
    validation = make(
        data.validation.images, batch_size, shuffle=False, seed=seed, take=validation_size
    )
    return train, validation


def _is_fraction(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and 0 < value <= 1
