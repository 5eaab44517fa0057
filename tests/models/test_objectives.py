"""Known answers of the successors' estimators, and each against a numpy reference."""

import math

import keras
import numpy as np
import numpy_objectives
import pytest
from scipy.special import logsumexp

from bvae_tf.models import objectives


def _numpy(tensor):
    return float(keras.ops.convert_to_numpy(tensor))


def _posteriors(means, log_var=-4.0, seed=0):
    """(z, z_mean, z_log_var): one sample of each N(means, exp(log_var)) posterior."""
    rng = np.random.default_rng(seed)
    z_log_var = np.full_like(means, log_var)
    z = means + np.exp(0.5 * z_log_var) * rng.standard_normal(means.shape)
    return z.astype("float32"), means.astype("float32"), z_log_var.astype("float32")


def test_total_correlation_is_near_zero_on_independent_codes():
    means = np.random.default_rng(1).standard_normal((500, 3))
    estimate = _numpy(objectives.total_correlation(*_posteriors(means, log_var=0.0), 1))
    assert abs(estimate) < 0.1


def test_total_correlation_is_large_on_codes_with_a_shared_component():
    shared = np.random.default_rng(1).standard_normal((500, 1))
    means = shared + 0.05 * np.random.default_rng(2).standard_normal((500, 3))
    estimate = _numpy(objectives.total_correlation(*_posteriors(means), 1))
    assert estimate > 2.0  # two latents copy the third: ~2 log(1 / 0.05) nats, less bias


def test_total_correlation_moves_by_the_dataset_sizes_constant():
    codes = _posteriors(np.random.default_rng(3).standard_normal((64, 4)))
    shift = (_numpy(objectives.total_correlation(*codes, 1000))
             - _numpy(objectives.total_correlation(*codes, 1)))
    assert shift == pytest.approx(3 * math.log(1000), rel=1e-4)  # (latent_dim - 1) log N


def test_total_correlation_equals_numpy():
    codes = _posteriors(np.random.default_rng(4).standard_normal((32, 5)), log_var=-1.0)
    assert _numpy(objectives.total_correlation(*codes, 186_915)) == pytest.approx(
        numpy_objectives.total_correlation(*codes, 186_915), rel=1e-5)


def test_total_correlation_traces_for_batches_of_any_size():
    import tensorflow as tf

    codes = _posteriors(np.random.default_rng(4).standard_normal((32, 5)), log_var=-1.0)
    spec = tf.TensorSpec((None, 5), tf.float32)  # as `fit` traces a partial last batch
    traced = tf.function(lambda *args: objectives.total_correlation(*args, 186_915),
                         input_signature=[spec] * 3)
    assert _numpy(traced(*codes)) == pytest.approx(
        numpy_objectives.total_correlation(*codes, 186_915), rel=1e-5)


@pytest.mark.parametrize("dip_type", objectives.DIP_TYPES)
def test_dip_penalty_is_zero_on_codes_with_identity_covariance(dip_type):
    # Rows of +-sqrt(3) e_j: mean 0, covariance exactly I ("i"); scaled, 0.5 I plus 0.5 I ("ii").
    means = np.concatenate([np.eye(3), -np.eye(3)]) * math.sqrt(3.0)
    scale = 1.0 if dip_type == "i" else math.sqrt(0.5)
    log_var = np.full_like(means, -math.inf if dip_type == "i" else math.log(0.5))
    covariance = objectives.dip_covariance(means * scale, log_var, dip_type)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(covariance), np.eye(3), atol=1e-6)
    assert _numpy(objectives.dip_penalty(covariance, 10.0, 100.0)) == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize("dip_type", objectives.DIP_TYPES)
def test_dip_penalty_equals_numpy(dip_type):
    rng = np.random.default_rng(5)
    means, log_var = rng.standard_normal((16, 4)), rng.standard_normal((16, 4))
    expected = numpy_objectives.dip_penalty(means, log_var, dip_type, 2.0, 30.0)
    penalty = objectives.dip_penalty(objectives.dip_covariance(means, log_var, dip_type),
                                     lambda_od=2.0, lambda_d=30.0)
    assert _numpy(penalty) == pytest.approx(expected, rel=1e-5)


def test_dip_covariance_refuses_an_unknown_type():
    with pytest.raises(ValueError, match="dip_type must be one of"):
        objectives.dip_covariance(np.zeros((2, 2)), np.zeros((2, 2)), "iii")


def test_annealed_capacity_follows_the_linear_schedule():
    steps = np.array([0, 1, 7, 50, 99, 100, 101, 10**6])
    expected = [numpy_objectives.annealed_capacity(step, 25.0, 100) for step in steps]
    actual = [_numpy(objectives.annealed_capacity(step, 25.0, 100)) for step in steps]
    np.testing.assert_allclose(actual, expected, rtol=1e-6)


def test_permute_dims_shuffles_each_column_apart():
    codes = np.arange(200, dtype="float32").reshape(100, 2)
    permuted = keras.ops.convert_to_numpy(objectives.permute_dims(codes, seed=0))
    for column in range(2):
        assert sorted(permuted[:, column]) == sorted(codes[:, column])
    rows = {tuple(row) for row in codes}
    assert sum(tuple(row) in rows for row in permuted) < 10  # the pairs are broken


def test_density_ratio_and_discriminator_loss_equal_numpy():
    rng = np.random.default_rng(6)
    code_logits, permuted_logits = rng.standard_normal((2, 8, 2))
    assert _numpy(objectives.density_ratio_total_correlation(code_logits)) == pytest.approx(
        numpy_objectives.density_ratio_total_correlation(code_logits), rel=1e-5)
    code_log_probs = code_logits - logsumexp(code_logits, axis=1, keepdims=True)
    permuted_log_probs = permuted_logits - logsumexp(permuted_logits, axis=1, keepdims=True)
    expected = -0.5 * (code_log_probs[:, 0].mean() + permuted_log_probs[:, 1].mean())
    assert _numpy(objectives.discriminator_loss(code_logits, permuted_logits)) == pytest.approx(
        expected, rel=1e-5)
