"""Shared pieces of the metrics: batched encoding, sampling, discretisation, information.

Arrays are (num_points, num_features), as scikit-learn has them (disentanglement_lib
transposes them). Images always come from the data's cached grid
(`data.sample_observations_from_factors`); nothing is rendered here.

Example:
    >>> codes = np.array([[0.0, 5.0], [0.5, 5.0], [1.0, 5.0]])
    >>> histogram_discretize(codes, num_bins=2).tolist()
    [[0, 1], [1, 1], [1, 1]]
"""

import numbers

import numpy as np
import sklearn.metrics

ENCODE_BATCH_SIZE = 2_000


def check_count(name, value, minimum=1):
    """Returns `value` as an int after checking it is an integer >= `minimum`.

    Raises:
        ValueError: naming the option, what it got and what it needs.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def check_codes(codes, num_rows):
    """Validates the output of an `encode_fn` for `num_rows` images.

    Args:
        codes: what `encode_fn` returned: np.ndarray or tf.Tensor (num_rows, latent_dim).
        num_rows: int, the number of images it was given.

    Returns:
        np.ndarray float64 (num_rows, latent_dim).

    Raises:
        ValueError: for a dict (e.g. a raw SavedModel signature), an array that is not
            2-D, the wrong number of rows, no latent dimension, or NaN/infinite values.
    """
    if hasattr(codes, "keys"):
        raise ValueError(
            f"`encode_fn` returned a dict with keys {sorted(codes)}; it must return the "
            "encoder means as one array (num_images, latent_dim). Pass "
            "`bvae_tf.export.load_encoder(path)` or a function returning `z_mean`."
        )
    codes = np.asarray(codes.numpy() if hasattr(codes, "numpy") else codes, np.float64)
    if codes.ndim != 2 or codes.shape[0] != num_rows or codes.shape[1] == 0:
        raise ValueError(
            f"`encode_fn` must return an array of shape (num_images, latent_dim) = "
            f"({num_rows}, latent_dim >= 1) for {num_rows} images, got shape "
            f"{codes.shape}. Return the encoder means only (not a tuple of mean and "
            "log variance), one row per image."
        )
    if not np.all(np.isfinite(codes)):
        raise ValueError(
            f"`encode_fn` returned NaN or infinite values ({np.sum(~np.isfinite(codes))} "
            f"of {codes.size}). Check the encoder's weights (a diverged training run?)."
        )
    return codes


def encode_factors(
    data,
    encode_fn,
    factors,
    random_state,
    encode_batch_size=ENCODE_BATCH_SIZE,
    deduplicate=True,
):
    """Encoder means of the images of `factors`, taken from the grid in large batches.

    Args:
        data: the ground-truth data (`factors_num_values`, `sample_observations_from_factors`).
        encode_fn: callable, float32 images (N, H, W, C) -> means (N, latent_dim).
        factors: np.ndarray int (num_points, num_factors).
        random_state: np.random.RandomState, passed to `sample_observations_from_factors`.
        encode_batch_size: int, default 2,000, images per `encode_fn` call.
        deduplicate: bool, default True. Encode each distinct factor tuple once and copy
            its code to every row holding it (a deterministic encoder of one image at a
            time gives the same numbers, faster: 100,000 uniform draws from the 276,480
            shapes hold about 84,000 distinct ones, 1.3 million about 272,000). Set False
            for an `encode_fn` whose output for an image depends on the rest of the batch.

    Returns:
        np.ndarray float64 (num_points, latent_dim).

    Raises:
        ValueError: if `encode_fn`'s output is malformed (see `check_codes`), or its
            latent size changes between batches.
    """
    encode_batch_size = check_count("encode_batch_size", encode_batch_size)
    factors = np.asarray(factors, np.int64)
    inverse = None
    if deduplicate and len(factors):
        keys = np.ravel_multi_index(tuple(factors.T), tuple(data.factors_num_values))
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        factors = factors[first]
    batches = []
    for start in range(0, len(factors), encode_batch_size):
        chunk = factors[start : start + encode_batch_size]
        images = data.sample_observations_from_factors(chunk, random_state)
        codes = check_codes(encode_fn(images), len(chunk))
        if batches and codes.shape[1] != batches[0].shape[1]:
            raise ValueError(
                f"`encode_fn` returned {codes.shape[1]} latent dimensions for one batch and "
                f"{batches[0].shape[1]} for another; it must return a fixed latent size."
            )
        batches.append(codes)
    if not batches:
        raise ValueError("No factors to encode: the number of points must be >= 1.")
    codes = np.concatenate(batches)
    return codes if inverse is None else codes[inverse.reshape(-1)]


def encode_factor_sets(
    data,
    encode_fn,
    factor_sets,
    random_state,
    encode_batch_size=ENCODE_BATCH_SIZE,
    deduplicate=True,
):
    """Codes of several factor arrays, encoded in one pass (de-duplicated across them).

    Args:
        data: the ground-truth data.
        encode_fn: callable, float32 images -> means (N, latent_dim).
        factor_sets: list of np.ndarray int (num_points_i, num_factors).
        random_state: np.random.RandomState.
        encode_batch_size: int, default 2,000.
        deduplicate: bool, default True; see `encode_factors`.

    Returns:
        list of np.ndarray float64 (num_points_i, latent_dim), one per factor array.
    """
    sizes = [len(factors) for factors in factor_sets]
    codes = encode_factors(
        data, encode_fn, np.concatenate(factor_sets), random_state, encode_batch_size,
        deduplicate,
    )
    return np.split(codes, np.cumsum(sizes)[:-1])


def sample_codes(
    data,
    encode_fn,
    sizes,
    random_state,
    encode_batch_size=ENCODE_BATCH_SIZE,
    deduplicate=True,
):
    """Sets of factors drawn uniformly over the grid and the encoder means of their images.

    The sampling of MIG, DCI and SAP (disentanglement_lib's `generate_batch_factor_code`,
    drawn at once and encoded in large batches instead of batches of 16).

    Args:
        data: the ground-truth data.
        encode_fn: callable, float32 images -> means (N, latent_dim).
        sizes: sequence of int >= 1, the number of points of each set (e.g. train, test).
        random_state: np.random.RandomState.
        encode_batch_size: int, default 2,000.
        deduplicate: bool, default True; see `encode_factors`.

    Returns:
        list of (codes, factors), one per size: np.ndarray float64 (num_points,
        latent_dim) and int64 (num_points, num_factors).
    """
    factor_sets = [
        np.asarray(data.sample_factors(check_count("num_points", size), random_state), np.int64)
        for size in sizes
    ]
    code_sets = encode_factor_sets(
        data, encode_fn, factor_sets, random_state, encode_batch_size, deduplicate
    )
    return list(zip(code_sets, factor_sets))


def histogram_discretize(codes, num_bins=20):
    """Each column put into `num_bins` equal-width bins over its own range.

    As disentanglement_lib's `_histogram_discretize` (`np.digitize` on the inner histogram
    edges), with bins numbered from 0: a constant column falls into one bin.

    Args:
        codes: np.ndarray (num_points, num_codes).
        num_bins: int >= 1, default 20.

    Returns:
        np.ndarray int64 (num_points, num_codes) in [0, num_bins).
    """
    num_bins = check_count("num_bins", num_bins)
    codes = np.asarray(codes, np.float64)
    discretized = np.empty(codes.shape, np.int64)
    for column in range(codes.shape[1]):
        edges = np.histogram(codes[:, column], num_bins)[1]
        discretized[:, column] = np.digitize(codes[:, column], edges[1:-1])
    return discretized


def discrete_mutual_info(discrete_codes, factors):
    """Mutual information (nats) of every code column with every factor column.

    Args:
        discrete_codes: np.ndarray int (num_points, num_codes).
        factors: np.ndarray int (num_points, num_factors).

    Returns:
        np.ndarray float64 (num_codes, num_factors), `sklearn.metrics.mutual_info_score`.
    """
    num_codes, num_factors = discrete_codes.shape[1], factors.shape[1]
    information = np.zeros((num_codes, num_factors))
    for code in range(num_codes):
        for factor in range(num_factors):
            information[code, factor] = sklearn.metrics.mutual_info_score(
                factors[:, factor], discrete_codes[:, code]
            )
    return information


def discrete_entropy(factors):
    """Entropy (nats) of each factor column: its mutual information with itself.

    Args:
        factors: np.ndarray int (num_points, num_factors).

    Returns:
        np.ndarray float64 (num_factors,).
    """
    return np.array(
        [sklearn.metrics.mutual_info_score(column, column) for column in np.asarray(factors).T]
    )
