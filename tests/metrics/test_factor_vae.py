"""The FactorVAE score: vote maths on tiny arrays and known answers on the grid."""

import numpy as np

from bvae_tf.metrics import factor_vae, factor_vae_score

SMALL = {"num_train": 1_000, "num_eval": 500, "num_variance_estimate": 2_000}


def test_votes_go_to_the_active_code_of_least_relative_variance():
    fixed = np.array([0, 1, 1])
    local = np.array([[0.1, 1.0, 0.0], [1.0, 0.2, 0.0], [1.0, 0.1, 0.0]])
    votes = factor_vae._votes(fixed, local, np.ones(3), np.array([True, True, False]), 2)
    np.testing.assert_array_equal(votes, [[1, 0, 0], [0, 2, 0]])


def test_majority_vote_accuracies():
    train, evaluation = np.array([[5, 1], [0, 4]]), np.array([[2, 1], [1, 2]])
    assert factor_vae._vote_accuracies(train, evaluation) == (0.9, 4 / 6)


def test_oracle_scores_high(shapes_data, oracle):
    scores = factor_vae_score(shapes_data, oracle, random_state=0, **SMALL)
    assert scores["factor_vae"] >= 0.98
    assert scores["factor_vae.train_accuracy"] >= 0.98
    assert scores["factor_vae.num_active_dims"] == 5  # the constant and the 1e-3 noise pruned


def test_noise_scores_near_chance(shapes_data, noise):
    scores = factor_vae_score(shapes_data, noise, random_state=0, **SMALL)
    assert abs(scores["factor_vae"] - 0.2) <= 0.06


def test_constant_codes_are_all_pruned(shapes_data):
    def constant(images):
        return np.ones((len(images), 4))

    scores = factor_vae_score(shapes_data, constant, random_state=0, **SMALL)
    assert scores == {"factor_vae": 0.0, "factor_vae.eval_accuracy": 0.0,
                      "factor_vae.train_accuracy": 0.0, "factor_vae.num_active_dims": 0.0}


def test_same_random_state_same_numbers(shapes_data, make_encoder):
    runs = [factor_vae_score(shapes_data, make_encoder("rotated"), 7, num_train=200,
                             num_eval=100, num_variance_estimate=500) for _ in range(2)]
    assert runs[0] == runs[1]
