"""Batch norm's statistics re-estimated on the training data: what stale moving averages cost.

An encoder evaluates with batch norm's moving averages. With the authors' momentum (0.999)
and few updates an epoch, those still hold a good part of their initial values when early
stopping ends training, so the codes a metric or the SVM sees are not the codes the network
trained with. `recalibrate_batch_norm` replaces each layer's moving mean and variance with
the exact population mean and (biased) variance of the inputs it sees at inference, over
the whole training data, layer after layer (each layer's inputs computed with the layers
before it already recalibrated), leaving every weight alone. The encoder's inference codes
then equal the training-mode codes of the whole training set as one batch. PyTorch's
`torch.optim.swa_utils.update_bn` does the same with a cumulative average over batches.

Example:
    >>> import numpy as np
    >>> from bvae_tf import zoo
    >>> model = zoo.build("mnist_fc", precision="float32", jit_compile=False)
    >>> images = np.random.default_rng(0).random((64, 28, 28, 1)).astype("float32")
    >>> layers = recalibrate_batch_norm(model.encoder, images, batch_size=32)
    >>> len(layers)
    2
"""

import functools

import keras
import numpy as np
import tensorflow as tf


def batch_norm_layers(network):
    """The batch-norm layers of a functional network, in the order they are applied."""
    return [layer for layer in network.layers
            if isinstance(layer, keras.layers.BatchNormalization)]


def _batches(data, batch_size):
    """Input batches of `data`: an array [N, H, W, C], or a dataset of (inputs, targets)."""
    if isinstance(data, tf.data.Dataset):
        for batch in data:
            yield batch[0] if isinstance(batch, (tuple, list)) else batch
        return
    images = np.asarray(data, dtype="float32")
    if images.ndim == 3:
        images = images[..., None]
    for start in range(0, len(images), batch_size):
        yield images[start:start + batch_size]


def population_moments(outputs_of, data, batch_size=1000):
    """Exact mean and biased variance per channel of `outputs_of(batch)` over `data` (float64).

    Batches are combined by Chan et al.'s pairwise update, which stays exact in float64
    whatever their number.

    Args:
        outputs_of: callable, a float32 batch [B, H, W, C] -> array [B, ..., channels].
        data: an array [N, H, W, C] (or [N, H, W]), or a `tf.data.Dataset` of batches
            (inputs, or (inputs, targets)).
        batch_size: int, images per call for an array. Defaults to 1000.

    Returns:
        (mean, variance): float64 numpy arrays [channels].

    Raises:
        ValueError: `data` is empty.

    Example:
        >>> mean, variance = population_moments(lambda batch: batch, np.arange(6.0)[:, None],
        ...                                     batch_size=4)
        >>> mean.tolist(), variance.round(4).tolist()
        ([2.5], [2.9167])
    """
    count, mean, squares = 0, None, None
    for batch in _batches(data, batch_size):
        values = np.asarray(outputs_of(batch), dtype="float64")
        values = values.reshape(-1, values.shape[-1])
        batch_mean = values.mean(axis=0)
        batch_squares = ((values - batch_mean) ** 2).sum(axis=0)
        if mean is None:
            count, mean, squares = len(values), batch_mean, batch_squares
            continue
        total = count + len(values)
        delta = batch_mean - mean
        mean = mean + delta * len(values) / total
        squares = squares + batch_squares + delta ** 2 * count * len(values) / total
        count = total
    if mean is None:
        raise ValueError("Batch-norm recalibration: `data` is empty; pass the training images.")
    return mean, squares / count


def recalibrate_batch_norm(network, data, batch_size=1000):
    """Sets each batch norm's moving statistics to those of its inputs over `data`.

    Args:
        network: a functional `keras.Model` with batch-norm layers (a zoo model's `encoder`
            or `decoder`); its moving means and variances are overwritten in place.
        data: the training images, an array [N, H, W, C] (or [N, H, W]) in [0, 1], or a
            `tf.data.Dataset` of (inputs, targets) batches (one pass is read per layer).
        batch_size: int, images per forward pass for an array. Defaults to 1000.

    Returns:
        list of the recalibrated layers' names, in order.

    Raises:
        ValueError: `network` has no batch-norm layer, or `data` is empty.
    """
    layers = batch_norm_layers(network)
    if not layers:
        raise ValueError(f"recalibrate_batch_norm: {network.name!r} has no batch-norm layer "
                         "to recalibrate.")
    for layer in layers:
        probe = keras.Model(network.inputs[0], layer.input)
        mean, variance = population_moments(functools.partial(probe, training=False), data,
                                            batch_size)
        layer.moving_mean.assign(mean.astype("float32"))
        layer.moving_variance.assign(variance.astype("float32"))
    return [layer.name for layer in layers]


__all__ = ["batch_norm_layers", "population_moments", "recalibrate_batch_norm"]
