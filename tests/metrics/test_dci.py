"""DCI: disentanglement and completeness maths on tiny matrices, known answers on the grid."""

import importlib

import numpy as np
import pytest
from sklearn import ensemble

from bvae_tf.metrics import dci, utils

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


@pytest.mark.parametrize("importance_model", ["gradient_boosting", "random_forest"])
def test_parallel_fits_give_the_sequential_numbers(shapes_data, make_encoder, importance_model):
    runs = {n_jobs: dci(shapes_data, make_encoder("rotated"), 3, num_train=1_000, num_test=500,
                        importance_model=importance_model, n_estimators=4, n_jobs=n_jobs)
            for n_jobs in (1, 2)}
    assert runs[1] == runs[2]
    assert 0.0 < runs[1]["dci"] < 1.0


@pytest.mark.parametrize(("option", "value", "message"), [
    ("n_jobs", 0, "`n_jobs` must be a nonzero integer"),
    ("n_jobs", 1.5, "`n_jobs` must be a nonzero integer"),
    ("n_estimators", 0, "`n_estimators` must be an integer >= 1"),
])
def test_bad_parallelism_or_tree_count_raises(shapes_data, oracle, option, value, message):
    with pytest.raises(ValueError, match=message):
        dci(shapes_data, oracle, 0, **{option: value})


def test_parallel_numbers_equal_a_plain_loop_over_the_factors(shapes_data, make_encoder):
    scores = dci(shapes_data, make_encoder("rotated"), 5, num_train=1_000, num_test=500,
                 n_estimators=3, n_jobs=2)
    state = np.random.RandomState(5)
    (train_x, train_y), (test_x, test_y) = utils.sample_codes(
        shapes_data, make_encoder("rotated"), [1_000, 500], state)
    seeds = [state.randint(2**31 - 1) for _ in range(train_y.shape[1])]
    importance, test_accuracy = np.zeros((train_x.shape[1], len(seeds))), []
    for factor, seed in enumerate(seeds):
        model = ensemble.GradientBoostingClassifier(n_estimators=3, random_state=seed)
        model.fit(train_x, train_y[:, factor])
        importance[:, factor] = model.feature_importances_
        test_accuracy.append(model.score(test_x, test_y[:, factor]))
    assert scores["dci"] == dci_module._disentanglement(importance)
    assert scores["dci.completeness"] == dci_module._completeness(importance)
    assert scores["dci.informativeness_test"] == float(np.mean(test_accuracy))
