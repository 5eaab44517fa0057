"""The paper protocol's classifier against a plain float64 reference."""

import numpy as np
import pytest

from bvae_tf.metrics import beta_vae, softmax


def _reference_adam(train_x, train_y, weights, epochs, learning_rate=1e-3):
    """Straightforward full-batch Adam on the mean softmax cross-entropy, float64."""
    inputs = np.hstack([train_x, np.ones((len(train_x), 1))])
    one_hot = np.eye(weights.shape[0])[train_y]
    weights = weights.astype(np.float64)
    first, second = np.zeros_like(weights), np.zeros_like(weights)
    for step in range(1, epochs + 1):
        logits = inputs @ weights.T
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        gradient = (probabilities - one_hot).T @ inputs / len(inputs)
        first = 0.9 * first + 0.1 * gradient
        second = 0.999 * second + 0.001 * gradient**2
        corrected = learning_rate * np.sqrt(1 - 0.999**step) / (1 - 0.9**step)
        weights = weights - corrected * first / (np.sqrt(second) + 1e-8)
    return weights


def test_matches_the_reference():
    rng = np.random.RandomState(0)
    train_x, train_y = rng.rand(500, 3), rng.randint(3, size=500)
    initial = softmax._initial_weights(3, 3, np.random.RandomState(1))
    weights, epochs = softmax.fit(train_x, train_y, train_x[:50], train_y[:50], 3,
                                  np.random.RandomState(1), patience=10**6, max_epochs=200)
    assert epochs == 200
    np.testing.assert_allclose(weights, _reference_adam(train_x, train_y, initial, 200),
                               atol=2e-5)


def test_large_logits_do_not_overflow():
    rng = np.random.RandomState(0)
    train_x, train_y = 1e3 * rng.rand(200, 2), rng.randint(2, size=200)
    weights, _ = softmax.fit(train_x, train_y, train_x, train_y, 2, rng, max_epochs=50)
    assert np.all(np.isfinite(weights))


def test_early_stopping_on_noise_and_the_epoch_cap():
    rng = np.random.RandomState(0)
    train_x, train_y = rng.rand(2_000, 4), rng.randint(4, size=2_000)
    validation_x, validation_y = rng.rand(500, 4), rng.randint(4, size=500)
    _, stopped = softmax.fit(train_x, train_y, validation_x, validation_y, 4, rng,
                             learning_rate=0.05, patience=5)
    assert 5 < stopped < 1_000
    _, capped = softmax.fit(train_x, train_y, validation_x, validation_y, 4, rng,
                            learning_rate=0.05, patience=10**6, max_epochs=37)
    assert capped == 37


def test_learns_a_separable_problem_and_predicts():
    rng = np.random.RandomState(0)
    features = rng.rand(400, 3)
    labels = features.argmax(axis=1)
    weights, _ = softmax.fit(features, labels, features, labels, 3, rng, learning_rate=0.1,
                             max_epochs=1_000)
    assert softmax.accuracy(weights, features, labels) >= 0.95
    assert softmax.predict(weights, features).shape == (400,)


@pytest.mark.parametrize("option", ["patience", "max_epochs"])
def test_bad_options_raise(option):
    with pytest.raises(ValueError, match=f"`{option}` must be an integer >= 1"):
        softmax.fit(np.ones((2, 1)), [0, 1], np.ones((2, 1)), [0, 1], 2,
                    np.random.RandomState(0), **{option: 0})


def _always_worse():
    """Validation labels opposite to the training ones: every step after the first worsens."""
    features = np.ones((10, 1))
    return features, np.zeros(10, int), features, np.ones(10, int)


@pytest.mark.parametrize("patience", [1, 20, 21])
def test_patience_counts_epochs_without_improvement(patience):
    _, epochs = softmax.fit(*_always_worse(), 2, np.random.RandomState(0), patience=patience)
    assert epochs == 1 + patience


def test_the_authors_rule_stops_after_21_epochs_without_improvement():
    # mpeychev/disentangled-autoencoders, src/evaluator.py: PATIENCE = 20, and the loop
    # breaks when `consecutive_decreases > PATIENCE`: 1 improving step + 21 others.
    _, epochs = softmax.fit(*_always_worse(), 2, np.random.RandomState(0),
                            **beta_vae.PEYCHEV2017_STOPPING)
    assert epochs == 22


def test_max_epochs_none_is_no_cap():
    rng = np.random.RandomState(3)
    train_x = rng.rand(60, 2)
    train_y = (train_x[:, 0] + 0.1 * rng.randn(60) > 0.5).astype(int)
    validation_x = rng.rand(60, 2)
    validation_y = (validation_x[:, 0] + 0.1 * rng.randn(60) > 0.5).astype(int)
    data = (train_x, train_y, validation_x, validation_y, 2)
    _, capped = softmax.fit(*data, np.random.RandomState(0), patience=21)
    _, uncapped = softmax.fit(*data, np.random.RandomState(0), patience=21, max_epochs=None)
    assert capped == softmax.MAX_EPOCHS < uncapped
    _, stopped = softmax.fit(*data, np.random.RandomState(0), patience=21,
                             max_epochs=uncapped + 100)
    assert stopped == uncapped
