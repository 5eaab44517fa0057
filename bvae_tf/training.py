"""The paper's training protocol as Keras callbacks: early stopping, NaN check, logs.

References:
    Peychev, Velickovic and Lio, 2017 (training protocol); the authors'
    `run_experiments.train_and_log_autoencoder` (early stopping and the NaN check).
"""

import json
import math
import os
import pathlib
import shutil
import time

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


class _EarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' `EarlyStopping` whose state can be saved and restored (`ResumeState`)."""

    def __init__(self, resumed=None, **kwargs):
        super().__init__(**kwargs)
        self.resumed = resumed

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.resumed is not None:
            self.wait, self.best, self.best_epoch, self.best_weights = self.resumed

    def state(self):
        """Returns `(wait, best, best_epoch, best_weights)`."""
        return self.wait, self.best, self.best_epoch, self.best_weights


class _UncappedProgbar(keras.callbacks.ProgbarLogger):
    """Keras' progress bar, saying "no epoch cap" instead of `Epoch 1/1000000`."""

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs = 1  # keeps the parent from printing the sentinel count
        super().on_epoch_begin(epoch, logs)
        if self.verbose:
            print(f"Epoch {epoch + 1} (no epoch cap: early stopping ends training)", flush=True)


class ResumeState(keras.callbacks.Callback):
    """Saves, after an epoch, what a killed `fit` needs to go on from that epoch.

    The state directory holds the model's and the optimizer's variables
    (`model.weights.h5`), early stopping's counters and best weights, and the per-epoch
    history so far; it is written to a temporary directory and swapped in with renames, so a
    kill at any moment leaves the last complete state. `fit(..., resume_dir=...)` reads it.
    A finished `fit` deletes it. The state is saved after every epoch that ends at least
    `min_interval_s` after the last save: every epoch of a long run, every few of a run
    whose epochs take seconds (a kill then loses at most `min_interval_s` of training).

    Args:
        directory: path of the state directory.
        early_stopping: the `_EarlyStopping` callback of the same `fit`.
        history: dict of per-epoch lists already run (from a resumed state), or None.
        min_interval_s: float, seconds between saves at least. Defaults to 30.
        training_s_before: float, seconds of training before this `fit` (a resumed state's).
    """

    def __init__(self, directory, early_stopping, history=None, min_interval_s=30.0,
                 training_s_before=0.0):
        super().__init__()
        self.directory = pathlib.Path(directory)
        self.early_stopping = early_stopping
        self.history = {key: list(values) for key, values in (history or {}).items()}
        self.min_interval_s = min_interval_s
        self.training_s_before = training_s_before
        self._saved_at = self._started_at = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        if time.monotonic() - self._saved_at < self.min_interval_s:
            return
        self._saved_at = time.monotonic()
        staging = self.directory.with_name(self.directory.name + ".staging")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        self.model.save_weights(staging / "model.weights.h5")
        wait, best, best_epoch, best_weights = self.early_stopping.state()
        if best_weights is not None:
            np.savez(staging / "best_weights.npz", *best_weights)
        state = {"epoch": epoch + 1, "wait": wait, "best": None if best is None else float(best),
                 "best_epoch": best_epoch, "history": self.history,
                 "training_s": self.training_s_before + time.monotonic() - self._started_at}
        (staging / "state.json").write_text(json.dumps(state))
        previous = self.directory.with_name(self.directory.name + ".previous")
        if self.directory.exists():
            os.replace(self.directory, previous)
        os.replace(staging, self.directory)
        shutil.rmtree(previous, ignore_errors=True)

    def on_train_end(self, logs=None):
        shutil.rmtree(self.directory, ignore_errors=True)


def _load_resume_state(directory, model):
    """Restores the model from a `ResumeState` directory; returns its state dict or None."""
    directory = pathlib.Path(directory)
    for candidate in (directory, directory.with_name(directory.name + ".previous")):
        if (candidate / "state.json").is_file():
            state = json.loads((candidate / "state.json").read_text())
            model.load_weights(candidate / "model.weights.h5")
            best_weights = None
            if (candidate / "best_weights.npz").is_file():
                with np.load(candidate / "best_weights.npz") as arrays:
                    best_weights = [arrays[f"arr_{index}"] for index in range(len(arrays))]
            state["best_weights"] = best_weights
            return state
    return None


def callbacks_for(patience=5, log_dir=None, resumed=None):
    """Returns the paper's callbacks: NaN check, early stopping and, with a log dir, logs.

    Args:
        patience: int, the paper's patience: training stops once `patience + 1`
            consecutive epochs fail to lower `val_loss` (the authors' `consecutive_decreases >
            PATIENCE`). Keras' `EarlyStopping` stops after `patience` such epochs (`wait >=
            patience`), so it receives `patience + 1`. Defaults to 5.
        log_dir: path or None; if given, TensorBoard logs and `training.csv` go there.
        resumed: `(wait, best, best_epoch, best_weights)` of a resumed run, or None.

    Returns:
        List of `keras.callbacks.Callback`; the second is the early-stopping callback.
    """
    callbacks = [
        RaiseOnNaNLoss(),
        _EarlyStopping(monitor="val_loss", patience=patience + 1, restore_best_weights=True,
                       resumed=resumed),
    ]
    if log_dir is not None:
        os.makedirs(log_dir, exist_ok=True)
        callbacks += [
            keras.callbacks.TensorBoard(log_dir=os.fspath(log_dir)),
            keras.callbacks.CSVLogger(os.path.join(log_dir, "training.csv"),
                                      append=resumed is not None),
        ]
    return callbacks


def fit(model, train_ds, validation_ds, max_epochs=None, patience=5, log_dir=None,
        verbose="auto", callbacks=(), resume_dir=None, resume_interval_s=30.0):
    """Trains `model` as the paper did: until the validation loss stops improving.

    Early stopping on the validation total loss, best weights restored at the end (also
    when `max_epochs` ends training first); a NaN or infinite training loss, or a NaN
    validation loss, raises `NaNLossError` (see `RaiseOnNaNLoss`). With `resume_dir`, the
    state after every epoch is kept there (`ResumeState`) and a `fit` killed mid-run goes
    on from its last finished epoch when called again with the same arguments.

    Args:
        model: a compiled `keras.Model` (a `bvae_tf.zoo` model).
        train_ds: `tf.data.Dataset` of (inputs, targets) batches, or
            `bvae_tf.data.pipeline.DeviceBatches` (drawn inside the step).
        validation_ds: the same for validation.
        max_epochs: int or None; None means no cap (the paper). Defaults to None.
        patience: int, see `callbacks_for`: 5 stops after 6 epochs without improvement.
        log_dir: path or None; TensorBoard logs and `training.csv` go there.
        verbose: Keras' verbosity ("auto": progress bar). Defaults to "auto".
        callbacks: extra `keras.callbacks.Callback`s. Defaults to ().
        resume_dir: path or None: where the per-epoch state is kept. Defaults to None.
        resume_interval_s: float, the least seconds between two saves of that state (see
            `ResumeState`). Defaults to 30.

    Returns:
        `keras.callbacks.History`; `history.history` has `loss`, `reconstruction_loss`,
        `kl_loss` and their `val_` twins, one value per epoch (a resumed run's included);
        `history.resumed` is None, or the `epoch` it resumed from and the `training_s` of
        training before.

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
    state = None if resume_dir is None else _load_resume_state(resume_dir, model)
    resumed = None if state is None else (
        state["wait"], state["best"], state["best_epoch"], state["best_weights"])
    if state is not None and log_dir is not None:
        _keep_csv_epochs(pathlib.Path(log_dir) / "training.csv", state["epoch"])
    chosen = callbacks_for(patience, log_dir, resumed)
    if resume_dir is not None:
        chosen.append(ResumeState(resume_dir, chosen[1], state and state["history"],
                                  resume_interval_s,
                                  state.get("training_s", 0.0) if state else 0.0))
    if max_epochs is None and verbose:
        chosen.append(_UncappedProgbar())
    history = model.fit(
        train_ds,
        validation_data=validation_ds,
        epochs=NO_EPOCH_CAP if max_epochs is None else max_epochs,
        initial_epoch=0 if state is None else state["epoch"],
        callbacks=chosen + list(callbacks),
        verbose=verbose,
        shuffle=False,  # the pipelines reshuffle every epoch themselves
    )
    history.resumed = None
    if state is not None:
        history.history = {key: state["history"].get(key, []) + list(values)
                           for key, values in history.history.items()}
        history.resumed = {"epoch": state["epoch"], "training_s": state.get("training_s", 0.0)}
    return history


def _keep_csv_epochs(path, epochs):
    """Drops the rows of `training.csv` from epoch `epochs` on (a killed run's last ones)."""
    if path.is_file():
        lines = path.read_text().splitlines(keepends=True)
        kept = lines[:1] + [line for line in lines[1:] if int(line.split(",", 1)[0]) < epochs]
        path.write_text("".join(kept))


LOSS_NAMES = ("loss", "reconstruction_loss", "kl_loss")


def per_epoch(history):
    """Returns a history as plain per-epoch float lists: what `history.json` holds.

    Example:
        >>> per_epoch({"loss": [np.float32(2.5)]})
        {'loss': [2.5]}
    """
    return {key: [float(value) for value in values] for key, values in history.items()}


def summarize_history(history, patience=5):
    """Epoch count, 1-based best epoch (lowest `val_loss`), how training ended, the losses.

    Args:
        history: dict of per-epoch lists, `keras.callbacks.History.history`.
        patience: int, the patience training ran with (see `callbacks_for`).

    Returns:
        dict with `epochs`, `best_epoch`, `early_stopped` (True when `patience + 1` epochs
        followed the best one: early stopping ended training, not an epoch cap) and
        `losses` {"train": {...}, "validation": {...}} over `LOSS_NAMES`: the fields a
        results record keeps.

    Example:
        >>> history = {"loss": [3.0, 2.0], "val_loss": [2.5, 2.6],
        ...            "reconstruction_loss": [2.0, 1.5], "val_reconstruction_loss": [2.0, 2.1],
        ...            "kl_loss": [1.0, 0.5], "val_kl_loss": [0.5, 0.5]}
        >>> summary = summarize_history(history, patience=0)
        >>> summary["epochs"], summary["best_epoch"], summary["early_stopped"]
        (2, 1, True)
        >>> summary["losses"]["validation"]["loss"]
        2.5
    """
    best = int(np.nanargmin(history["val_loss"]))
    epochs = len(history["val_loss"])
    return {
        "epochs": epochs,
        "best_epoch": best + 1,
        "early_stopped": epochs - (best + 1) > patience,
        "losses": {
            "train": {name: float(history[name][best]) for name in LOSS_NAMES},
            "validation": {name: float(history[f"val_{name}"][best]) for name in LOSS_NAMES},
        },
    }
