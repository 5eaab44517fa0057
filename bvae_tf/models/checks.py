"""Input validation of `BetaVAE`: errors that say what was wrong and what to do."""

import math
import numbers

import numpy as np
import tensorflow as tf

NOISY_PIPELINE = "bvae_tf.data.pipeline.make_dataset(split, noise=True)"


def check_beta(beta):
    """Returns `beta` as a float; raises ValueError unless it is a finite number >= 0."""
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not beta >= 0.0:
        raise ValueError(
            f"beta must be a number >= 0 (0 drops the KL term); got {beta!r}."
        )
    if not math.isfinite(beta):
        raise ValueError(f"beta must be finite; got {beta!r}.")
    return float(beta)


def check_non_negative(value, name):
    """Returns `value` as a float; raises ValueError, naming it, unless finite and >= 0."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0.0
            or not math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}.")
    return float(value)


def check_count(value, name):
    """Returns `value` as an int; raises ValueError, naming it, unless a whole number >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1; got {value!r}.")
    return int(value)


def check_image_shape(image_shape):
    """Returns `image_shape` as a tuple of 3 ints >= 1; raises ValueError naming it otherwise."""
    try:
        shape = tuple(int(size) for size in image_shape)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) != 3 or min(shape) < 1 or shape != tuple(image_shape):
        raise ValueError(
            f"image_shape must be (height, width, channels), three ints >= 1; got "
            f"{image_shape!r}. Grey images take channels 1: (height, width, 1)."
        )
    return shape


def resolve_decoder_reshape(config):
    """Returns the (height, width, channels) grid a "conv" decoder upsamples to the image.

    `config["decoder_reshape"]` is either that grid or its channels alone (an int), the
    height and width then being the image's divided by the decoder's upsampling: 2 per
    decoder filter, times `output_strides`.

    Raises:
        ValueError: if the image's height or width is not a multiple of the upsampling, or
            a given grid does not upsample to the image's size.

    Example:
        >>> resolve_decoder_reshape({"image_shape": (32, 32, 3), "decoder_reshape": 64,
        ...                          "decoder_filters": (16, 4), "output_strides": 2})
        (4, 4, 64)
    """
    height, width, _ = config["image_shape"]
    upsampling = 2 ** len(config["decoder_filters"]) * config["output_strides"]
    how = (f"{upsampling}x (2 per decoder filter {tuple(config['decoder_filters'])}, times "
           f"output_strides={config['output_strides']})")
    grid = config["decoder_reshape"]
    if height % upsampling or width % upsampling:
        raise ValueError(
            f"image_shape {tuple(config['image_shape'])}: the conv decoder upsamples its grid "
            f"{how}, so the image's height and width must be multiples of {upsampling}. "
            f"Resize or crop the images (e.g. to ({_multiple(height, upsampling)}, "
            f"{_multiple(width, upsampling)})), or change decoder_filters/output_strides."
        )
    if isinstance(grid, (int, np.integer)) and not isinstance(grid, bool) and grid >= 1:
        return (height // upsampling, width // upsampling, int(grid))
    try:
        grid = tuple(int(size) for size in grid)
    except (TypeError, ValueError):
        pass  # refused below, by its length
    valid = isinstance(grid, tuple) and len(grid) == 3 and min(grid) >= 1
    if not valid or (grid[0] * upsampling, grid[1] * upsampling) != (height, width):
        raise ValueError(
            f"decoder_reshape {grid} upsampled {how} must give the image size "
            f"{(height, width)}; choose decoder_reshape=({height // upsampling}, "
            f"{width // upsampling}, channels), or just the channels (an int)."
        )
    return grid


def _multiple(size, factor):
    """The multiple of `factor` nearest to `size` (at least `factor`)."""
    return max(factor, round(size / factor) * factor)


def check_device_batches(batches, y, image_shape, denoising, name):
    """Raises ValueError unless `DeviceBatches` `batches` fit a model's images and noise."""
    if y is not None:
        raise ValueError(f"DeviceBatches given as `{name}` hold their targets: leave `y` None.")
    if tuple(batches.image_shape) != tuple(image_shape):
        raise ValueError(
            f"`{name}`: DeviceBatches of images {tuple(batches.image_shape)}, but the model "
            f"takes {tuple(image_shape)}. Use the data of the model's dataset, or a model "
            f"built with image_shape={tuple(batches.image_shape)}."
        )
    if denoising and not batches.denoising:
        raise ValueError(
            f"`{name}`: a denoising model trains on noisy inputs; build the DeviceBatches "
            "with noise=True."
        )


def check_batch_shape(shape, image_shape, where):
    """Raises ValueError unless `shape` is (batch, *image_shape)."""
    if len(shape) == len(image_shape) and tuple(shape) == tuple(image_shape):
        raise ValueError(
            f"{where}: got one unbatched image of shape {tuple(shape)}; the model takes "
            f"batches (batch, {', '.join(map(str, image_shape))}): batch the dataset "
            "(dataset.batch(1000)) or add a leading axis (images[None]).")
    if tuple(shape[1:]) != tuple(image_shape):
        raise ValueError(
            f"{where}: expected images of shape (batch, {', '.join(map(str, image_shape))}); "
            f"got shape {tuple(shape)}. Use the data of the model's dataset, or a model built "
            f"with image_shape={tuple(shape[1:])} (e.g. bvae_tf.zoo.build(name, "
            f"image_shape={tuple(shape[1:])}))."
        )


def as_images(images, image_shape, where, likelihood="bernoulli"):
    """Returns `images` as float32 [N, *image_shape] after checking their dtype and values.

    Pixels must be finite real numbers (float, bool or integer arrays), in [0, 1] for a
    "bernoulli" model (any value for a "gaussian" one), with N >= 1; [N, H, W] gains the
    channel axis when C is 1. uint8 arrays are refused rather
    than rescaled: 8-bit pixels are 0..255 by convention, so the caller divides by 255.
    The value check is two vectorised reductions (min and max), so it costs little beside
    the forward pass.

    Args:
        images: array-like [N, H, W, C] (or [N, H, W] when C is 1).
        image_shape: tuple (H, W, C), the shape the model takes.
        where: str naming the caller in error messages, e.g. "BetaVAE.encode".
        likelihood: str, the model's (`bvae_tf.distributions.LIKELIHOODS`). Defaults to
            "bernoulli".

    Returns:
        np.ndarray float32 [N, *image_shape].

    Raises:
        ValueError: naming `images`, if they are not real numbers, are uint8, have the
            wrong shape, are empty, or hold NaN, infinite or out-of-range values.

    Example:
        >>> as_images(np.ones((2, 4, 4)), (4, 4, 1), "demo").shape
        (2, 4, 4, 1)
        >>> as_images(np.full((2, 4, 4, 1), 255, np.uint8), (4, 4, 1), "demo")
        Traceback (most recent call last):
        ...
        ValueError: demo: images are uint8 ...
    """
    images = _as_real_array(images, where)
    if images.ndim == len(image_shape) and image_shape[-1] == 1:
        images = images[..., np.newaxis]
    check_batch_shape(images.shape, image_shape, where)
    if len(images) == 0:
        raise ValueError(f"{where}: images are empty (shape {images.shape}); pass N >= 1 images.")
    _check_pixel_values(images, where, likelihood)
    return images.astype(np.float32, copy=False)


def _as_real_array(images, where):
    try:
        images = np.asarray(images)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"{where}: images must be an array of shape (N, H, W, C); got {type(images).__name__}"
            f" that NumPy cannot read as one ({error}). Stack the images into one array."
        ) from None
    if images.dtype == np.uint8:
        raise ValueError(
            f"{where}: images are uint8 (8-bit pixels, 0..255 by convention) but the encoder "
            "takes values in [0, 1]; pass images.astype('float32') / 255 (or "
            ".astype('float32') alone if they already hold 0/1 pixels)."
        )
    if images.dtype.kind not in "biuf":
        raise ValueError(
            f"{where}: images have dtype {images.dtype}; the encoder takes real pixel values in "
            "[0, 1] (a float, bool or integer array). Convert them to float32 first, e.g. "
            "np.asarray(images, dtype='float32')."
        )
    return images


def _check_pixel_values(images, where, likelihood="bernoulli"):
    low, high = images.min(), images.max()
    if low >= 0 and high <= 1:  # False for NaN, so the fast path proves finiteness too
        return
    bernoulli = likelihood == "bernoulli"
    if images.dtype.kind == "f" and not np.isfinite(images).all():
        nan, inf = int(np.isnan(images).sum()), int(np.isinf(images).sum())
        raise ValueError(
            f"{where}: images hold {nan} NaN and {inf} infinite values; the encoder takes "
            f"finite pixels{' in [0, 1]' if bernoulli else ''}. Drop or repair those images "
            f"(e.g. np.nan_to_num{' and np.clip(images, 0, 1)' if bernoulli else ''}) first."
        )
    if not bernoulli:
        return
    raise ValueError(
        f"{where}: images must hold pixels in [0, 1]; got values from {low} to {high}. The "
        "model's likelihood is Bernoulli: scale them into [0, 1] first (images / 255 for "
        "8-bit grey levels, or np.clip(images, 0, 1) if they only overshoot slightly), or use "
        "a model built with likelihood='gaussian', which takes any real values."
    )


def check_fit_data(x, y, image_shape, denoising, likelihood="bernoulli"):
    """Checks what `BetaVAE.fit` is given: image shape, pixel values, noise if denoising.

    Args:
        x: array, tensor or `tf.data.Dataset` of inputs or (inputs, targets) pairs; other
            kinds (generators, `keras.utils.PyDataset`) are passed through unchecked.
        y: targets, or None.
        image_shape: tuple, the model's image shape.
        denoising: bool, whether the model needs noisy inputs and clean targets.
        likelihood: str, the model's: pixels in [0, 1] for "bernoulli", any finite value
            for "gaussian". Defaults to "bernoulli".

    Raises:
        ValueError: on a wrong image shape or pixel values, or clean data for a denoising
            model.
    """
    if isinstance(x, tf.data.Dataset):
        spec = x.element_spec
        if isinstance(spec, dict):
            raise ValueError(  # noqa: TRY004 (bad data given to fit: Keras' ValueError)
                f"BetaVAE.fit: the dataset yields dicts (keys {sorted(spec)}); yield image "
                "batches, or (inputs, targets) pairs, e.g. dataset.map(lambda item: "
                "(item['image'], item['image'])).")
        inputs_spec = spec[0] if isinstance(spec, tuple) else spec
        check_batch_shape(inputs_spec.shape, image_shape, "BetaVAE.fit")
        # `bvae_tf.data.pipeline` datasets were checked when made; reading a pass of one
        # would move its epoch sequence on, so only a denoising model's check reads it.
        made_here = getattr(x, "epoch_variable", None) is not None
        if made_here and not denoising:
            return
        element = next(iter(x.take(1)), None)
        if element is None:
            raise ValueError("BetaVAE.fit: the dataset is empty; give it at least one batch.")
        first = element[0] if isinstance(element, tuple) else element
        _check_pixel_values(np.asarray(first), "BetaVAE.fit", likelihood)
        if denoising:
            if not isinstance(element, tuple) or len(element) < 2:
                _refuse_clean("the dataset yields inputs only (targets default to inputs)")
            _check_noisy(element[0], element[1])
    elif isinstance(x, (np.ndarray, tf.Tensor)):
        check_batch_shape(x.shape, image_shape, "BetaVAE.fit")
        if np.size(x) == 0:
            raise ValueError("BetaVAE.fit: x is empty; give it at least one image.")
        _check_pixel_values(np.asarray(x), "BetaVAE.fit", likelihood)
        if denoising:
            if y is None:
                _refuse_clean("x was given without y (targets default to inputs)")
            _check_noisy(x, y)


def _check_noisy(inputs, targets):
    if np.array_equal(np.asarray(inputs), np.asarray(targets)):
        _refuse_clean("its inputs equal its targets")


def _refuse_clean(reason):
    raise ValueError(
        f"This is a denoising model (denoising=True) but {reason}: it would learn a plain "
        f"autoencoder. Train it on (noisy inputs, clean targets) pairs: build the noisy "
        f"pipeline with {NOISY_PIPELINE}, or use the non-denoising zoo entry."
    )
