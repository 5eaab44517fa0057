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

from bvae_tf import results
from bvae_tf.data import pipeline

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


class ResumeStateError(ValueError):
    """A resume state that cannot be used: unreadable, inconsistent, or of other settings."""


# Version of the state directory's layout; a state of another version is refused.
RESUME_FORMAT = 2


class _EpochKeys(keras.callbacks.Callback):
    """Keys each epoch's order and noise by (seed, epoch): `pipeline.set_epoch` per epoch.

    Without it a dataset's passes are numbered by how many passes this process made, which a
    resumed process cannot know; with it, epoch `e` is the same in every process.
    """

    def __init__(self, *datasets):
        super().__init__()
        self.datasets = datasets

    def on_epoch_begin(self, epoch, logs=None):
        for dataset in self.datasets:
            pipeline.set_epoch(dataset, epoch)

    def on_train_end(self, logs=None):
        for dataset in self.datasets:
            pipeline.set_epoch(dataset, None)


class ResumeState(keras.callbacks.Callback):
    """Saves, after an epoch, everything a killed `fit` needs to go on as if never killed.

    The state directory holds the model's and the optimizer's variables
    (`model.weights.h5`), early stopping's best weights (`best_weights.npz`) and
    `state.json`: early stopping's counters, the per-epoch history, the model's random
    states (the `SeedGenerator`s, which `save_weights` leaves out), the settings the run was
    started with, and whether training has ended (`stopped`). It is written to a temporary
    directory and swapped in with renames, so a kill at any moment leaves the last complete
    state. The state is saved after every epoch that ends at least `min_interval_s` after
    the last save, and always after the last epoch: a finished `fit` leaves its final state,
    so a rerun returns the trained model at once (the caller deletes the state when it has
    kept what it needs: `discard_resume_state`).

    Args:
        directory: path of the state directory.
        early_stopping: the `_EarlyStopping` callback of the same `fit`.
        state: the state this `fit` resumed from (`read_resume_state`), or None.
        settings: JSON-able dict the state must match to be resumed, or None.
        min_interval_s: float, seconds between saves at least. Defaults to 30.
    """

    def __init__(self, directory, early_stopping, state=None, settings=None,
                 min_interval_s=30.0):
        super().__init__()
        self.directory = pathlib.Path(directory)
        self.early_stopping = early_stopping
        state = state or {}
        self.history = {key: list(values) for key, values in state.get("history", {}).items()}
        self.settings = settings
        self.processes = state.get("processes", 1)  # `fit` counted this process in
        self.min_interval_s = min_interval_s
        self.training_s_before = state.get("training_s", 0.0)
        self._saved_at = self._started_at = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        stopped = bool(self.model.stop_training) or epoch + 1 >= self.params["epochs"]
        if not stopped and time.monotonic() - self._saved_at < self.min_interval_s:
            return
        self._saved_at = time.monotonic()
        wait, best, best_epoch, best_weights = self.early_stopping.state()
        _save_state(self.directory, self.model, best_weights, {
            "format": RESUME_FORMAT, "settings": self.settings, "epoch": epoch + 1,
            "stopped": stopped, "wait": wait, "best": None if best is None else float(best),
            "best_epoch": best_epoch, "history": self.history, "processes": self.processes,
            "training_s": self.training_s_before + time.monotonic() - self._started_at,
            "random_state": [np.asarray(variable.numpy()).tolist()
                             for variable in _random_state(self.model)],
        })


def _random_state(model):
    """The model's variables that `save_weights` leaves out (its `SeedGenerator` states).

    Listed in the model's order, not by path: Keras numbers the paths of each process's
    models (`seed_generator_1`, ...), so a path is not the same in a resumed process.
    """
    saved = {id(variable) for variable in model.weights}
    return [variable for variable in model.variables if id(variable) not in saved]


def _save_state(directory, model, best_weights, state):
    staging = directory.with_name(directory.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    model.save_weights(staging / "model.weights.h5")
    if best_weights is not None:
        np.savez(staging / "best_weights.npz", *best_weights)
    results.atomic_write_json(staging / "state.json", state)
    previous = directory.with_name(directory.name + ".previous")
    if directory.exists():
        os.replace(directory, previous)
    os.replace(staging, directory)
    shutil.rmtree(previous, ignore_errors=True)


def discard_resume_state(directory):
    """Deletes a resume state directory (and its temporaries): the trial's results are kept."""
    directory = pathlib.Path(directory)
    for suffix in ("", ".staging", ".previous"):
        shutil.rmtree(directory.with_name(directory.name + suffix), ignore_errors=True)


def read_resume_state(directory):
    """Returns the checked `state.json` of a resume state directory, or None if there is none.

    Raises:
        ResumeStateError: the state is unreadable or inconsistent; the message names the
            file and says how to start the trial again.
    """
    directory = pathlib.Path(directory)
    for candidate in (directory, directory.with_name(directory.name + ".previous")):
        path = candidate / "state.json"
        if path.is_file():
            try:
                state = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError) as error:
                raise _state_error(path, f"is not readable JSON ({error})") from None
            _check_state(state, path)
            state["directory"] = candidate
            return state
    return None


def _state_error(path, problem):
    return ResumeStateError(
        f"The resume state {path} {problem}. It was not written by this bvae_tf, or was "
        f"damaged: delete {pathlib.Path(path).parent} to train the trial again from its first "
        f"epoch.")


def _check_state(state, path):
    if not isinstance(state, dict):
        raise _state_error(path, f"holds {type(state).__name__}, not an object")
    if state.get("format") != RESUME_FORMAT:
        raise _state_error(path, f"has format {state.get('format')!r}, not {RESUME_FORMAT} "
                                 f"(states before format 2 do not resume bit for bit)")
    kinds = {"epoch": int, "wait": int, "processes": int, "stopped": bool, "history": dict,
             "random_state": list, "training_s": (int, float)}
    for key, kind in kinds.items():
        value = state.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise _state_error(path, f"has {key} = {value!r}")
    epoch = state["epoch"]
    if epoch < 1 or state["wait"] < 0 or state["processes"] < 1:
        raise _state_error(path, "has a negative count")
    for key, values in state["history"].items():
        if not isinstance(values, list) or len(values) != epoch or not all(
                isinstance(value, (int, float)) for value in values):
            raise _state_error(path, f"has a history {key!r} that is not {epoch} numbers")
    losses = state["history"].get("val_loss")
    best_epoch = state.get("best_epoch")
    if losses is None or isinstance(best_epoch, bool) or not isinstance(best_epoch, int) or \
            not 0 <= best_epoch < epoch:
        raise _state_error(path, f"has best_epoch {best_epoch!r} for {epoch} epochs of val_loss")
    best = state.get("best")
    finite_best = min((value for value in losses if not math.isnan(value)), default=None)
    if best != finite_best or losses[best_epoch] != best:
        raise _state_error(path, f"has best {best!r} at epoch {best_epoch + 1}, but its "
                                 f"val_loss history's lowest is {finite_best!r}")
    for name in ("model.weights.h5", "best_weights.npz"):
        if not (path.parent / name).is_file():
            raise _state_error(path, f"has no {name} beside it")


def _check_settings(state, settings, directory):
    """Refuses to resume a state saved under other settings, naming both.

    Only this run's keys are compared: a key the state has and this run no longer gives
    (a setting later found not to shape training) does not stop a resume.
    """
    stored, settings = state.get("settings") or {}, settings or {}
    differing = sorted(key for key in settings if stored.get(key, "(unset)") != settings[key])
    if not differing:
        return
    shown = "; ".join(f"{key}: the state's {stored.get(key, '(unset)')!r}, this run's "
                      f"{settings[key]!r}" for key in differing[:6])
    raise ResumeStateError(
        f"The resume state in {directory} was saved by a run with other settings ({shown}). "
        f"Rerun with the state's settings to go on with it, or delete {directory} to train "
        f"this trial again from its first epoch.")


def _restore(model, state):
    """Loads a checked state into `model`; returns early stopping's best weights."""
    directory = state["directory"]
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built:  # else Keras skips its saved state
        optimizer.build(model.trainable_variables)
    try:
        model.load_weights(directory / "model.weights.h5")
        with np.load(directory / "best_weights.npz") as arrays:
            best_weights = [arrays[f"arr_{index}"] for index in range(len(arrays))]
    except Exception as error:  # noqa: BLE001 (h5py, numpy and Keras raise many kinds)
        raise _state_error(directory / "state.json",
                           f"has weights this model cannot load ({error})") from None
    expected = [tuple(weight.shape) for weight in model.get_weights()]
    if [weight.shape for weight in best_weights] != expected:
        raise _state_error(directory / "state.json", "has best weights of another model")
    variables = _random_state(model)
    values = [np.asarray(value) for value in state["random_state"]]
    if [value.shape for value in values] != [tuple(variable.shape) for variable in variables]:
        raise _state_error(directory / "state.json", "has random states of another model")
    for variable, value in zip(variables, values):
        variable.assign(value.astype(variable.dtype))
    return best_weights


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
        verbose="auto", callbacks=(), resume_dir=None, resume_interval_s=30.0,
        resume_settings=None):
    """Trains `model` as the paper did: until the validation loss stops improving.

    Early stopping on the validation total loss, best weights restored at the end (also
    when `max_epochs` ends training first); a NaN or infinite training loss, or a NaN
    validation loss, raises `NaNLossError` (see `RaiseOnNaNLoss`). Epoch `e` of datasets
    made by `bvae_tf.data.pipeline` is keyed by (seed, e) (`pipeline.set_epoch`).

    With `resume_dir`, the state is kept there (`ResumeState`): a `fit` killed at any moment
    and called again with the same arguments goes on from its last saved epoch and ends with
    the same weights and history, bit for bit on one machine, as if never killed. The final
    state stays after `fit` returns, so calling it again returns the trained model without
    training; delete it with `discard_resume_state` once the results are kept.

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
        resume_settings: JSON-able dict saved with the state; a state saved with other
            settings is refused (`ResumeStateError`, naming both). Defaults to None.

    Returns:
        `keras.callbacks.History`; `history.history` has `loss`, `reconstruction_loss`,
        `kl_loss` and their `val_` twins, one value per epoch (a resumed run's included);
        `history.resumed` is None, or the `epoch` it resumed from and the `training_s` of
        training before; `history.processes` counts the processes that trained it (1 if
        never resumed).

    Raises:
        NaNLossError: if a loss is not finite.
        ResumeStateError: the state in `resume_dir` is damaged or of other settings.
        ValueError: if `max_epochs` or `patience` is not a positive int (0 for patience),
            or the state has more epochs than `max_epochs`.

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
    state = None if resume_dir is None else read_resume_state(resume_dir)
    if state is not None:
        _check_settings(state, resume_settings, pathlib.Path(resume_dir))
        if max_epochs is not None and state["epoch"] > max_epochs:
            raise ValueError(
                f"The resume state in {resume_dir} has {state['epoch']} epochs trained, more "
                f"than max_epochs={max_epochs}: pass max_epochs >= {state['epoch']} (or None) "
                f"to go on with it, or delete {resume_dir} to train from the first epoch.")
        best_weights = _restore(model, state)
        state["processes"] += 1  # this process takes part in the trial, even if it trains none
        results.atomic_write_json(state["directory"] / "state.json",
                                  {k: v for k, v in state.items() if k != "directory"})
        if state["stopped"]:
            model.set_weights(best_weights)  # as early stopping's end of training does
            return _finished_history(state)
    resumed = None if state is None else (
        state["wait"], state["best"], state["best_epoch"], best_weights)
    if state is not None and log_dir is not None:
        _keep_csv_epochs(pathlib.Path(log_dir) / "training.csv", state["epoch"])
    chosen = callbacks_for(patience, log_dir, resumed)
    chosen.append(_EpochKeys(train_ds, validation_ds))
    if resume_dir is not None:
        chosen.append(ResumeState(resume_dir, chosen[1], state, resume_settings,
                                  resume_interval_s))
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
    history.resumed, history.processes = None, 1
    if state is not None:
        history.history = {key: state["history"].get(key, []) + list(values)
                           for key, values in history.history.items()}
        history.resumed = {"epoch": state["epoch"], "training_s": state["training_s"]}
        history.processes = state["processes"]
    return history


def _finished_history(state):
    """The `History` a resumed `fit` returns when its state had already finished training."""
    history = keras.callbacks.History()
    history.history = {key: list(values) for key, values in state["history"].items()}
    history.resumed = {"epoch": state["epoch"], "training_s": state["training_s"]}
    history.processes = state["processes"]
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
