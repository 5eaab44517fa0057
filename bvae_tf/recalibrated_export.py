"""Batch norm's statistics of an exported encoder, re-estimated in memory before scoring.

A SavedModel keeps no Keras layers, so `bvae_tf.export` writes what recalibration needs
beside `serving_default`: a signature `batch_norm_inputs` (images -> the input of each
batch norm, in the order applied) and the layers' moving means and variances as
`batch_norm_statistics`. `recalibrate_exported` loads the SavedModel again and sets those
variables, layer after layer, to the exact population statistics of each layer's inputs,
as `bvae_tf.models.recalibration.recalibrate_batch_norm` does for a Keras network: the
codes then equal the training-mode codes of all the images as one batch. Nothing is
written. `training_images` picks what to recalibrate on for `bvae-tf metric
--recalibrate-bn`.

Example:
    >>> import tempfile
    >>> from bvae_tf import export, zoo
    >>> model = zoo.build("mnist_fc", precision="float32", jit_compile=False)
    >>> encoder = export.load_encoder(export.export_encoder(model, tempfile.mkdtemp(), "fc"))
    >>> images = np.random.default_rng(0).random((64, 28, 28, 1)).astype("float32")
    >>> recalibrated = recalibrate_exported(encoder, images)
    >>> recalibrated(images).shape, recalibrated.path == encoder.path
    ((64, 16), True)
"""

import os

import numpy as np
import tensorflow as tf

from bvae_tf import export
from bvae_tf.data import pipeline, shapes
from bvae_tf.models import checks, recalibration

# Observations of ground-truth data other than the shapes grid recalibrated on by default.
DEFAULT_SAMPLES = 10_000


def recalibrate_exported(encoder, images):
    """Returns a copy of `encoder` whose batch norms use the statistics of `images`.

    Args:
        encoder: `bvae_tf.export.Encoder` (`export.load_encoder`), exported with its
            `batch_norm_inputs` signature (by `export.export_encoder`, December 2026 on).
        images: the training images, an array [N, H, W, C] (or [N, H, W]) in [0, 1] (any
            finite values for a "gaussian" likelihood), or a `tf.data.Dataset` of batches
            (inputs, or (inputs, targets); one pass a layer).

    Returns:
        `bvae_tf.export.Encoder` with the same path and batch size; `encoder` itself and
        the files on disk are left as they are.

    Raises:
        ValueError: the export has no `batch_norm_inputs` signature (exported before it
            existed: export it again), or `images` are empty or not images of its shape.
    """
    if not isinstance(images, tf.data.Dataset):
        images = checks.as_images(images, encoder.image_shape, "recalibrate_exported",
                                  encoder.likelihood)
    loaded = tf.saved_model.load(os.fspath(encoder.path))
    probe, statistics = _batch_norm_access(loaded, encoder.path)
    for index in range(len(statistics) // 2):  # in the order applied: each sees the last
        mean, variance = recalibration.population_moments(
            lambda batch, key=f"batch_norm_{index}": probe(images=tf.constant(batch))[key],
            images, encoder.batch_size)
        statistics[2 * index].assign(mean.astype("float32"))
        statistics[2 * index + 1].assign(variance.astype("float32"))
    return export.Encoder(loaded.signatures[export.SIGNATURE], encoder.path,
                          encoder.batch_size, encoder.likelihood)


_EXPORT_AGAIN = ("export it again from its .keras model: bvae_tf.export.export_encoder("
                 "keras.saving.load_model(<model.keras>), <directory>, <name>, "
                 "overwrite=True), or rerun the trial that wrote it")


def _batch_norm_access(loaded, path):
    """The `batch_norm_inputs` signature and the `batch_norm_statistics` variables of a
    loaded export, checked to match: ValueError if either is missing or they do not."""
    if export.BATCH_NORM_INPUTS not in loaded.signatures:
        raise ValueError(
            f"The encoder at {path} has no {export.BATCH_NORM_INPUTS!r} signature: it was "
            "exported before bvae_tf wrote one, or it has no batch norm. To get one that can "
            f"be recalibrated, {_EXPORT_AGAIN}.")
    probe = loaded.signatures[export.BATCH_NORM_INPUTS]
    statistics = list(getattr(loaded, export.BATCH_NORM_STATISTICS, []))
    keys = [f"batch_norm_{index}" for index in range(len(statistics) // 2)]
    if (not keys or len(statistics) % 2 or sorted(probe.structured_outputs) != sorted(keys)
            or not all(isinstance(variable, tf.Variable) for variable in statistics)):
        raise ValueError(
            f"The encoder at {path} returns {sorted(probe.structured_outputs)} from its "
            f"{export.BATCH_NORM_INPUTS!r} signature and has {len(statistics)} "
            f"{export.BATCH_NORM_STATISTICS!r} variables; expected batch_norm_0 to "
            "batch_norm_<n-1> and a moving mean and variance for each, as "
            f"bvae_tf.export.export_encoder writes them. To recalibrate it, {_EXPORT_AGAIN}.")
    return probe, statistics


def training_images(data, seed, samples=None, batch_size=1000):
    """The images `bvae-tf metric --recalibrate-bn` recalibrates on, and their number.

    The shapes grid: its training split drawn with `seed` (`ShapesData.with_split_seed`),
    all of it or its first `samples` images (the split's order is random). Other
    ground-truth data: `samples` observations (default `DEFAULT_SAMPLES`) of factors drawn
    uniformly with `seed`. Clean images: a denoising model's trial recalibrates on the
    noisy inputs it trained on, an exported encoder does not say it was one.

    Args:
        data: ground-truth data (`bvae_tf.data.catalog.load_ground_truth`).
        seed: int, the split's or the draw's seed.
        samples: int >= 1 or None, how many images. Defaults to None (see above).
        batch_size: int, images a batch. Defaults to 1000.

    Returns:
        (`tf.data.Dataset` of float32 batches, int number of images).

    Example:
        >>> from bvae_tf.data import ground_truth
        >>> grid = ground_truth.ArrayGrid(np.zeros((6, 4, 4, 1)), [2, 3], ["a", "b"])
        >>> dataset, count = training_images(grid, seed=0, samples=5, batch_size=2)
        >>> count, [int(batch.shape[0]) for batch in dataset]
        (5, [2, 2, 1])
    """
    if isinstance(data, shapes.ShapesData):
        split = data.with_split_seed(seed).train
        count = len(split) if samples is None else min(samples, len(split))
        return pipeline.make_dataset(split, batch_size, shuffle=False, take=count), count
    count = DEFAULT_SAMPLES if samples is None else samples

    def observations():
        random_state = np.random.RandomState(seed)
        factors = data.sample_factors(count, random_state)
        for start in range(0, count, batch_size):
            yield data.sample_observations_from_factors(factors[start:start + batch_size],
                                                        random_state).astype("float32")

    spec = tf.TensorSpec([None, *data.observation_shape], tf.float32)
    return tf.data.Dataset.from_generator(observations, output_signature=spec), count


__all__ = ["DEFAULT_SAMPLES", "recalibrate_exported", "training_images"]
