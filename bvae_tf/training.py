"""The paper's training protocol as Keras callbacks: early stopping, NaN check, logs.

References:
    Peychev, Velickovic and Lio, 2017 (training protocol); the authors'
    `run_experiments.train_and_log_autoencoder` (early stopping and the NaN check).
"""

import math
import os

import keras
import numpy as np

# `model.fit` needs an epoch count; this one is never reached (early stopping ends training).
NO_EPOCH_CAP = 1_000_000


class NaNLossError(FloatingPointError):
    """Raised when a training or validation loss is NaN or infinite."""


class RaiseOnNaNLoss(keras.callbacks.Callback):
    """Raises `NaNLossError` when a batch loss is NaN or infinite, or `val_loss` is NaN.

    Keras' `TerminateOnNaN` stops quietly; a sweep must record the failure instead. An
    infinite `val_loss` is not an error: early in training, batch norm's moving averages
    can lag the batch statistics enough for an inference-mode log variance to overflow
    `exp` in the KL; early stopping counts such an epoch as no improvement.

    Example:
    >>> callback = RaiseOnNaNLoss()
    >>> callback.on_train_batch_end(0, {"loss": 1.0})  # finite: nothing happens
    """

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        epoch = getattr(self, "_epoch", 0) + 1
        self._check(logs, "loss", f"batch {batch} of epoch {epoch}")

    def on_epoch_end(self, epoch, logs=None):
        self._check(logs, "val_loss", f"the validation of epoch {epoch + 1}", allow_inf=True)

    def _check(self, logs, key, where, allow_inf=False):
        value = (logs or {}).get(key)
        if value is None:
            return
        if math.isnan(float(value)) or (math.isinf(float(value)) and not allow_inf):
            raise NaNLossError(
                f"The {key} became {float(value)} at {where}: training diverged. Lower the "
                f"learning rate (the paper uses 3e-5 at beta = 0 for the shapes models), "
                f"check the data for NaNs, or change the seed."
            )


def callbacks_for(patience=5, log_dir=None):
    """Returns the paper's callbacks: NaN check, early stopping and, with a log dir, logs.

    Args:
        patience: int, the paper's patience: training stops once `patience + 1`
            consecutive epochs fail to lower `val_loss` (the authors' `consecutive_decreases >
            PATIENCE`). Keras' `EarlyStopping` stops after `patience` such epochs (`wait >=
            patience`), so it receives `patience + 1`. Defaults to 5.
        log_dir: path or None; if given, TensorBoard logs and `training.csv` go there.

    Returns:
        List of `keras.callbacks.Callback`.
    """
    callbacks = [
        RaiseOnNaNLoss(),
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=patience + 1, restore_best_weights=True
        ),
    ]
    if log_dir is not None:
        os.makedirs(log_dir, exist_ok=True)
        callbacks += [
            keras.callbacks.TensorBoard(log_dir=os.fspath(log_dir)),
            keras.callbacks.CSVLogger(os.path.join(log_dir, "training.csv")),
        ]
    return callbacks


def fit(model, train_ds, validation_ds, max_epochs=None, patience=5, log_dir=None,
        verbose="auto", callbacks=()):
    """Trains `model` as the paper did: until the validation loss stops improving.

    Early stopping on the validation total loss, best weights restored at the end (also
    when `max_epochs` ends training first); a NaN or infinite training loss, or a NaN
    validation loss, raises `NaNLossError` (see `RaiseOnNaNLoss`).

    Args:
        model: a compiled `keras.Model` (a `bvae_tf.zoo` model).
        train_ds: `tf.data.Dataset` of (inputs, targets) batches.
        validation_ds: `tf.data.Dataset` of (inputs, targets) batches.
        max_epochs: int or None; None means no cap (the paper). Defaults to None.
        patience: int, see `callbacks_for`: 5 stops after 6 epochs without improvement.
        log_dir: path or None; TensorBoard logs and `training.csv` go there.
        verbose: Keras' verbosity ("auto": progress bar). Defaults to "auto".
        callbacks: extra `keras.callbacks.Callback`s. Defaults to ().

    Returns:
        `keras.callbacks.History`; `history.history` has `loss`, `reconstruction_loss`,
        `kl_loss` and their `val_` twins, one value per epoch.

    Raises:
        NaNLossError: if a loss is not finite.
        ValueError: if `max_epochs` or `patience` is not a positive int (0 for patience).

    Example:
    >>> import numpy as np, tensorflow as tf
    >>> from bvae_tf import zoo
    >>> model = zoo.fc(latent_dim=2, jit_compile=False)
    >>> images = np.zeros((8, 64, 64, 1), "float32")
    >>> data = tf.data.Dataset.from_tensor_slices((images, images)).batch(4)
    >>> history = fit(model, data, data, max_epochs=1, verbose=0)
    >>> sorted(history.history)[:3]
    ['kl_loss', 'loss', 'reconstruction_loss']
    """
    if max_epochs is not None and (not isinstance(max_epochs, int) or max_epochs < 1):
        raise ValueError(f"max_epochs must be None (no cap) or an int >= 1; got {max_epochs!r}.")
    if not isinstance(patience, int) or patience < 0:
        raise ValueError(f"patience must be an int >= 0; got {patience!r}.")
    return model.fit(
        train_ds,
        validation_data=validation_ds,
        epochs=NO_EPOCH_CAP if max_epochs is None else max_epochs,
        callbacks=callbacks_for(patience, log_dir) + list(callbacks),
        verbose=verbose,
        shuffle=False,  # the pipelines reshuffle every epoch themselves
    )


LOSS_NAMES = ("loss", "reconstruction_loss", "kl_loss")


def summarize_history(history):
    """Epoch count, 1-based best epoch (lowest `val_loss`) and the losses at that epoch.

    Args:
        history: dict of per-epoch lists, `keras.callbacks.History.history`.

    Returns:
        dict with `epochs`, `best_epoch` and `losses` {"train": {...}, "validation": {...}}
        over `LOSS_NAMES`: the fields a results record keeps.

    Example:
        >>> history = {"loss": [3.0, 2.0], "val_loss": [2.5, 2.6],
        ...            "reconstruction_loss": [2.0, 1.5], "val_reconstruction_loss": [2.0, 2.1],
        ...            "kl_loss": [1.0, 0.5], "val_kl_loss": [0.5, 0.5]}
        >>> summary = summarize_history(history)
        >>> summary["epochs"], summary["best_epoch"], summary["losses"]["validation"]["loss"]
        (2, 1, 2.5)
    """
    best = int(np.nanargmin(history["val_loss"]))
    return {
        "epochs": len(history["val_loss"]),
        "best_epoch": best + 1,
        "losses": {
            "train": {name: float(history[name][best]) for name in LOSS_NAMES},
            "validation": {name: float(history[f"val_{name}"][best]) for name in LOSS_NAMES},
        },
    }
