"""DCI: disentanglement and completeness maths on tiny matrices, known answers on the grid."""

import importlib

import numpy as np
import pytest

from bvae_tf.metrics import dci

dci_module = importlib.import_module("bvae_tf.metrics.dci")
SMALL = {"num_train": 2_000, "num_test": 1_000}


def test_identity_importance_is_perfect_and_uniform_is_zero():
    assert dci_module._disentanglement(np.eye(3)) == pytest.approx(1.0)
    assert dci_module._completeness(np.eye(3)) == pytest.approx(1.0)
    assert dci_module._disentanglement(np.ones((3, 3))) == pytest.approx(0.0, abs=1e-9)
    assert dci_module._completeness(np.ones((3, 3))) == pytest.approx(0.0, abs=1e-9)


def test_two_codes_for_one_factor_are_disentangled_but_incomplete():
    importance = np.array([[1.0, 0.0], [1.0, 0.0]])
    assert dci_module._disentanglement(importance) == pytest.approx(1.0)
    assert dci_module._completeness(importance) == pytest.approx(0.0, abs=1e-9)


def test_oracle_and_rotated_with_random_forests(shapes_data, oracle, rotated):
    options = {"importance_model": "random_forest", "n_estimators": 10, **SMALL}
    oracle_scores = dci(shapes_data, oracle, random_state=0, **options)
    rotated_scores = dci(shapes_data, rotated, random_state=0, **options)
    assert oracle_scores["dci"] >= 0.95
    assert oracle_scores["dci.completeness"] >= 0.95
    assert oracle_scores["dci.informativeness_test"] >= 0.95
    assert rotated_scores["dci"] <= 0.6


def test_oracle_with_gradient_boosting(shapes_data, oracle):
    scores = dci(shapes_data, oracle, random_state=0, n_estimators=5, num_train=1_000,
                 num_test=500)
    assert scores["dci"] >= 0.95
    assert scores["dci.completeness"] >= 0.95


def test_noise_is_not_informative(shapes_data, noise):
    scores = dci(shapes_data, noise, random_state=0, importance_model="random_forest",
                 n_estimators=10, **SMALL)
    assert scores["dci.informativeness_test"] <= 0.3
    assert scores["dci"] <= 0.3


def test_unknown_importance_model_raises(shapes_data, oracle):
    with pytest.raises(ValueError, match="gradient_boosting.*random_forest"):
        dci(shapes_data, oracle, 0, importance_model="lasso")
