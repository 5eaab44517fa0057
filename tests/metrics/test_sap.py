"""SAP: score-matrix maths on tiny arrays and known answers on the grid."""

import importlib

import numpy as np

from bvae_tf.metrics import sap

sap_module = importlib.import_module("bvae_tf.metrics.sap")
SMALL = {"num_train": 3_000, "num_test": 1_500}


def test_top_two_gaps():
    matrix = np.array([[0.9, 0.1], [0.2, 0.5], [0.1, 0.6]])
    np.testing.assert_allclose(sap_module._top_two_gaps(matrix), [0.7, 0.1])
    np.testing.assert_allclose(sap_module._top_two_gaps(np.array([[0.4, 0.0]])), [0.4, 0.0])


def test_correlation_matrix_of_a_perfect_code_and_a_constant():
    factors = np.random.RandomState(0).randint(5, size=(500, 2))
    codes = np.hstack([factors * 2.0 + 1.0, np.ones((500, 1))])
    matrix = sap_module._correlation_matrix(codes, factors)
    np.testing.assert_allclose(matrix[[0, 1], [0, 1]], [1.0, 1.0])
    np.testing.assert_allclose(matrix[2], [0.0, 0.0])
    assert np.all(matrix[[0, 1], [1, 0]] < 0.02)


def test_accuracy_matrix_of_a_separable_binary_factor():
    factors = np.repeat([0, 1], 100)[:, None]
    codes = np.hstack([factors * 10.0, np.zeros((200, 1))])
    matrix = sap_module._accuracy_matrix(codes, factors, codes, factors, 0.01, 0)
    np.testing.assert_allclose(matrix[:, 0], [1.0, 0.5])


def test_oracle_rotated_and_noise(shapes_data, oracle, rotated, noise):
    continuous = sap(shapes_data, oracle, 0, continuous_factors=True, **SMALL)
    discrete = sap(shapes_data, oracle, 0, **SMALL)
    rotated_discrete = sap(shapes_data, rotated, 0, **SMALL)
    noise_discrete = sap(shapes_data, noise, 0, **SMALL)
    assert continuous["sap"] >= 0.95
    # One linear SVM on one code separates few of 60 rotations or 16 positions: low for all.
    assert discrete["sap"] >= 0.15 and discrete["sap.shape"] >= 0.5
    assert discrete["sap"] >= 2 * rotated_discrete["sap"]
    assert noise_discrete["sap"] <= 0.03
