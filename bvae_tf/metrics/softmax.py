"""The paper protocol's classifier: linear softmax regression, full-batch Adam, early stop.

Plain numpy in float32, one matrix product for the training and validation logits of each
epoch, classes along the first axis (contiguous rows of num_points): about 1 ms an epoch
for 35,001 + 7,500 points on one CPU core, and the same numbers for the same inputs.

Example:
    >>> rng = np.random.RandomState(0)
    >>> features = rng.rand(300, 3)
    >>> labels = features.argmax(axis=1)
    >>> weights, epochs = fit(features, labels, features, labels, 3, rng, learning_rate=0.1)
    >>> accuracy(weights, features, labels) > 0.9
    True
"""

import itertools

import numpy as np
from threadpoolctl import threadpool_limits

from bvae_tf.metrics import utils

MAX_EPOCHS = 10_000
# TF1's tf.train.AdamOptimizer defaults (the paper's code ran on TensorFlow 1).
_BETA_1, _BETA_2, _EPSILON = 0.9, 0.999, 1e-8
_SAFE_LOGIT = 60.0


def _with_bias(features):
    """(num_points, num_features) -> float32 (num_features + 1, num_points), last row 1."""
    columns = np.ones((features.shape[1] + 1, len(features)), np.float32)
    columns[:-1] = np.asarray(features, np.float32).T
    return columns


def _initial_weights(num_classes, num_features, random_state):
    """Glorot-uniform kernel (Keras' Dense default) and a zero bias, (classes, features+1)."""
    limit = np.sqrt(6.0 / (num_features + num_classes))
    weights = np.zeros((num_classes, num_features + 1), np.float32)
    weights[:, :-1] = random_state.uniform(-limit, limit, (num_classes, num_features))
    return weights


def fit(
    train_x,
    train_y,
    validation_x,
    validation_y,
    num_classes,
    random_state,
    learning_rate=1e-3,
    patience=20,
    max_epochs=MAX_EPOCHS,
):
    """Fits `softmax(weights @ [x, 1])` by full-batch Adam with early stopping.

    Each epoch is one Adam step on the mean cross-entropy of the whole training set; then
    the validation cross-entropy is computed. Training stops when it has not improved
    (strictly) on its best for `patience` epochs in a row, or after `max_epochs` epochs,
    keeping the last weights (Keras' `EarlyStopping(patience=patience)` without
    restoring). With the first epoch improving on nothing, a loss that only worsens stops
    after `1 + patience` epochs.

    Args:
        train_x: np.ndarray (num_train, num_features).
        train_y: np.ndarray int (num_train,) in [0, num_classes).
        validation_x: np.ndarray (num_validation, num_features).
        validation_y: np.ndarray int (num_validation,).
        num_classes: int.
        random_state: np.random.RandomState, draws the initial kernel.
        learning_rate: float, default 1e-3.
        patience: int, default 20.
        max_epochs: int or None, default 10,000; None: no cap.

    Returns:
        (weights, epochs): np.ndarray float32 (num_classes, num_features + 1), the last
        column the bias, and the number of Adam steps taken.

    Raises:
        ValueError: if `patience`, or `max_epochs` other than None, is not an integer >= 1.
    """
    patience = utils.check_count("patience", patience)
    if max_epochs is not None:
        max_epochs = utils.check_count("max_epochs", max_epochs)
    # One BLAS thread: these products are tiny, and threads waiting on a busy machine
    # made an epoch 6 times slower.
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit(
            train_x, train_y, validation_x, validation_y, num_classes, random_state,
            learning_rate, patience, max_epochs,
        )


def _fit(
    train_x, train_y, validation_x, validation_y, num_classes, random_state, learning_rate,
    patience, max_epochs,
):
    num_train, num_validation = len(train_x), len(validation_x)
    inputs = np.concatenate([_with_bias(train_x), _with_bias(validation_x)], axis=1)
    input_bound = np.abs(inputs).max(axis=1)
    train_inputs = np.ascontiguousarray(inputs[:, :num_train].T)
    target_gradient = _class_sums(train_inputs, train_y, num_classes)
    validation_target = _class_sums(inputs[:, num_train:].T, validation_y, num_classes)
    weights = _initial_weights(num_classes, train_x.shape[1], random_state)
    first_moment, second_moment = np.zeros_like(weights), np.zeros_like(weights)
    best_loss, wait = np.inf, 0
    for epoch in itertools.count():
        exponentials, shift = _exponentiated_logits(weights, inputs, input_bound)
        totals = np.add.reduce(exponentials, axis=0)
        if epoch:
            loss = np.mean(np.log(totals[num_train:]) + shift[num_train:]) - np.sum(
                weights * validation_target) / num_validation
            best_loss, wait = (loss, 0) if loss < best_loss else (best_loss, wait + 1)
            if wait >= patience or epoch == max_epochs:
                return weights, epoch
        probabilities = exponentials[:, :num_train] / totals[:num_train]
        gradient = (probabilities @ train_inputs - target_gradient) / num_train
        first_moment = _BETA_1 * first_moment + (1 - _BETA_1) * gradient
        second_moment = _BETA_2 * second_moment + (1 - _BETA_2) * gradient * gradient
        step = learning_rate * np.sqrt(1 - _BETA_2 ** (epoch + 1)) / (1 - _BETA_1 ** (epoch + 1))
        weights -= step * first_moment / (np.sqrt(second_moment) + _EPSILON)


def _class_sums(inputs, labels, num_classes):
    """Sum of the input rows of each class, float32 (num_classes, num_inputs)."""
    one_hot = np.eye(num_classes, dtype=np.float32)[np.asarray(labels)]
    return one_hot.T @ np.asarray(inputs, np.float32)


def _exponentiated_logits(weights, inputs, input_bound):
    """exp(logits - shift) (classes, points) and the shift of each point.

    The shift is each point's largest logit when a logit could leave [-60, 60] (exp would
    leave float32's range), else 0 (bounded from the weights, without a pass over the data).
    """
    logits = weights @ inputs
    if np.max(np.abs(weights) @ input_bound) < _SAFE_LOGIT:
        shift = np.zeros(logits.shape[1], np.float32)
    else:
        shift = np.maximum.reduce(logits, axis=0)
        logits -= shift
    np.exp(logits, out=logits)
    return logits, shift


def predict(weights, features):
    """Class index of each row: argmax of the logits, int64 (num_points,)."""
    return np.argmax(weights @ _with_bias(features), axis=0)


def accuracy(weights, features, labels):
    """Fraction of rows whose predicted class is `labels`, as a float."""
    return float(np.mean(predict(weights, features) == np.asarray(labels)))
