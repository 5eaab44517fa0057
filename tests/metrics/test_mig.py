"""MIG: the gap maths on tiny arrays and known answers on the grid."""

import importlib

import numpy as np
import pytest

from bvae_tf.metrics import mig

mig_module = importlib.import_module("bvae_tf.metrics.mig")


def test_perfect_codes_have_gap_one_and_a_duplicate_code_gap_zero():
    factors = np.random.RandomState(0).randint(4, size=(2_000, 2))
    np.testing.assert_allclose(mig_module._mig(factors.astype(float), factors, 20), 1.0, atol=0.01)
    duplicated = np.hstack([factors, factors[:, :1]]).astype(float)
    np.testing.assert_allclose(mig_module._mig(duplicated, factors, 20), [0.0, 1.0], atol=0.01)


def test_more_values_than_bins_cap_the_gap():
    factors = np.repeat(np.arange(60), 50)[:, None]
    gap = mig_module._mig(factors.astype(float), factors, 20)
    np.testing.assert_allclose(gap, [np.log(20) / np.log(60)])


def test_a_constant_factor_raises():
    factors = np.zeros((10, 1), int)
    with pytest.raises(ValueError, match="single value"):
        mig_module._mig(np.random.rand(10, 2), factors, 20)


def test_oracle_rotated_and_noise(shapes_data, oracle, rotated, noise):
    oracle_scores = mig(shapes_data, oracle, random_state=0)
    # 20 bins cap the 60 rotations at log(20) / log(60) = 0.73 (symmetric squares: less).
    assert oracle_scores["mig"] >= 0.9
    assert 0.6 <= oracle_scores["mig.rotation"] <= 0.74
    assert min(oracle_scores[f"mig.{name}"] for name in ("shape", "pos_x", "pos_y", "scale")) >= 0.95
    assert mig(shapes_data, rotated, random_state=0)["mig"] <= 0.3
    assert mig(shapes_data, noise, random_state=0)["mig"] <= 0.02


def test_same_random_state_same_numbers(shapes_data, make_encoder):
    runs = [mig(shapes_data, make_encoder("rotated"), 5, num_train=1_000) for _ in range(2)]
    assert runs[0] == runs[1]
