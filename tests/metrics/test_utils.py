"""Shared metric pieces: encoder-output checks, batched encoding, discretisation, information."""

import numpy as np
import pytest
import tensorflow as tf

from bvae_tf.metrics import utils


class _TableData:
    """2 factors of 3 and 4 values; an "image" is its factor tuple as floats."""

    factors_num_values = (3, 4)

    def sample_observations_from_factors(self, factors, random_state):
        return np.asarray(factors, np.float32)


def test_check_codes_accepts_tensors_and_returns_float64():
    codes = utils.check_codes(tf.ones((3, 2)), 3)
    assert codes.dtype == np.float64 and codes.shape == (3, 2)


@pytest.mark.parametrize(
    "codes, message",
    [
        (np.zeros(3), r"shape \(num_images, latent_dim\) = \(3, latent_dim >= 1\).*\(3,\)"),
        (np.zeros((2, 4)), r"for 3 images, got shape \(2, 4\)"),
        (np.zeros((3, 0)), "latent_dim >= 1"),
        (np.array([[0.0], [np.nan], [np.inf]]), "NaN or infinite values \\(2 of 3\\)"),
        ({"z_mean": np.zeros((3, 2))}, "returned a dict with keys \\['z_mean'\\]"),
        ((np.zeros((3, 2)), np.zeros((3, 2))), "not a tuple"),
    ],
)
def test_check_codes_rejects(codes, message):
    with pytest.raises(ValueError, match=message):
        utils.check_codes(codes, 3)


def test_encode_factors_in_batches_and_deduplicated():
    factors = np.array([[0, 1], [2, 3], [0, 1], [1, 1], [2, 3]])
    batch_sizes = []

    def encode(images):
        batch_sizes.append(len(images))
        return images * 10.0

    codes = utils.encode_factors(_TableData(), encode, factors, None, encode_batch_size=2)
    np.testing.assert_array_equal(codes, factors * 10.0)
    assert batch_sizes == [2, 1]  # 3 distinct tuples
    batch_sizes.clear()
    utils.encode_factors(_TableData(), encode, factors, None, 2, deduplicate=False)
    assert batch_sizes == [2, 2, 1]


def test_encode_factors_rejects_a_changing_latent_size():
    calls = iter([np.zeros((2, 3)), np.zeros((1, 4))])
    with pytest.raises(ValueError, match="fixed latent size"):
        utils.encode_factors(_TableData(), lambda images: next(calls), [[0, 0], [1, 1], [2, 2]],
                             None, encode_batch_size=2)


def test_check_count():
    assert utils.check_count("num_train", 5) == 5
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ValueError, match="`num_train` must be an integer >= 1"):
            utils.check_count("num_train", bad)


def test_histogram_discretize_uses_equal_width_bins_per_column():
    codes = np.array([[0.0, 5.0], [0.24, 5.0], [0.26, 5.0], [1.0, 5.0]])
    np.testing.assert_array_equal(utils.histogram_discretize(codes, 4)[:, 0], [0, 0, 1, 3])
    assert len(np.unique(utils.histogram_discretize(codes, 4)[:, 1])) == 1


def test_mutual_information_and_entropy_in_nats():
    factors = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    codes = factors[:, :1]
    np.testing.assert_allclose(utils.discrete_entropy(factors), [np.log(2), np.log(2)])
    np.testing.assert_allclose(
        utils.discrete_mutual_info(codes, factors), [[np.log(2), 0.0]], atol=1e-12
    )


def test_factor_sets_share_one_pass():
    seen = []

    def encode(images):
        seen.append(len(images))
        return images + 0.5

    sets = [np.array([[0, 1], [2, 3]]), np.array([[2, 3], [1, 0], [0, 1]])]
    codes = utils.encode_factor_sets(_TableData(), encode, sets, None, encode_batch_size=10)
    assert seen == [3]
    for factors, code in zip(sets, codes):
        np.testing.assert_array_equal(code, factors + 0.5)


def test_sample_codes_draws_each_set():
    class Data(_TableData):
        def sample_factors(self, num, random_state):
            return np.stack([random_state.randint(3, size=num),
                             random_state.randint(4, size=num)], axis=1)

    sets = utils.sample_codes(Data(), lambda images: images * 2.0, [5, 3],
                              np.random.RandomState(0))
    assert [codes.shape for codes, _ in sets] == [(5, 2), (3, 2)]
    for codes, factors in sets:
        np.testing.assert_array_equal(codes, factors * 2.0)
    with pytest.raises(ValueError, match="`num_points` must be an integer >= 1"):
        utils.sample_codes(Data(), lambda images: images, [0], np.random.RandomState(0))
