"""Beta sweeps with keras-tuner: a grid over beta x seed (x MNIST fraction) per zoo entry.

`run_sweep` runs one study of a profile: one keras-tuner project per zoo entry under
`<results>/tuner/<study>-<entry>/`, objective `val_reconstruction_loss` (min; the total loss
is not comparable across beta). Each trial calls the study's experiment (`bvae_tf.experiments
.shapes.run_trial` or `bvae_tf.experiments.mnist.run_trial`) and writes its record atomically.

Resuming: the records are the source of truth. `SweepOracle` hands out the first grid point,
in a fixed order (seed, then fraction, then beta), whose record does not exist and that no
tuner is running, so a rerun of the same command after any interruption (SIGKILL included)
runs exactly the missing trials. keras-tuner 1.4.8's own `GridSearchOracle` cannot resume
(its queue of next combinations is not saved: keras-team/keras-tuner#1055), and a trial that
was RUNNING when the process died is put back by keras-tuner's `Oracle.reload` into its retry
queue and rerun first; the oracle never hands its grid point out twice.

Distributed (keras-tuner's chief/worker mode): one chief serves the oracle of entry `i` on
`PORT + i` over gRPC; workers with the same profile, study and results directory take trials.

Example:
    >>> from bvae_tf import tuning
    >>> summary = tuning.run_sweep("quick", "shapes", "runs/quick")  # doctest: +SKIP
    >>> summary["missing"]  # doctest: +SKIP
    []
"""

import itertools
import os
import pathlib
import socket
import sys
import time
import traceback

import keras_tuner

from bvae_tf import distributed, profiles, results

OBJECTIVE = "val_reconstruction_loss"
ROLES = ("local", "chief", "worker")
_IDLE_WAIT_S = 1.0


class BetaVAEHyperModel(keras_tuner.HyperModel):
    """A keras-tuner `HyperModel` over one zoo entry: hyperparameters seed, fraction, beta.

    Args:
        entry: str, a zoo entry name (`bvae_tf.zoo.NAMES`).
        betas: sequence of floats, the KL weights.
        seeds: sequence of ints.
        fractions: sequence of floats (MNIST training fractions) or None (shapes).

    Example:
        >>> hypermodel = BetaVAEHyperModel("fc", betas=[0.0, 4.0], seeds=[0])
        >>> model = hypermodel.build(keras_tuner.HyperParameters())  # doctest: +SKIP
    """

    def __init__(self, entry, betas, seeds, fractions=None):
        super().__init__(name=entry)
        self.entry = entry
        self.betas = [float(beta) for beta in betas]
        self.seeds = [int(seed) for seed in seeds]
        self.fractions = None if fractions is None else [float(value) for value in fractions]

    def declare_hyperparameters(self, hp):
        """Declares the grid, in enumeration order: seed, then fraction, then beta."""
        values = {"seed": hp.Choice("seed", self.seeds)}
        if self.fractions is not None:
            values["fraction"] = hp.Choice("fraction", self.fractions)
        values["beta"] = hp.Choice("beta", self.betas)
        return values

    def build(self, hp):
        """Returns the compiled zoo model for `hp`'s beta and seed."""
        from bvae_tf import zoo

        values = self.declare_hyperparameters(hp)
        return zoo.get(self.entry)(beta=values["beta"], seed=values["seed"])


def _values_key(values):
    return tuple(sorted(values.items()))


class SweepOracle(keras_tuner.oracles.GridSearchOracle):
    """A grid-search oracle that resumes from the records and never runs a point twice.

    Args:
        is_done: callable(values dict) -> bool, whether that grid point has its record.
        **kwargs: arguments of `keras_tuner.oracles.GridSearchOracle`.
    """

    def __init__(self, is_done, **kwargs):
        super().__init__(**kwargs)
        self.is_done = is_done
        self._handed_out = set()

    def combinations(self):
        """Yields every grid point as a values dict, in the declared order (last fastest)."""
        space = self.get_space().space
        for combination in itertools.product(*(hp.values for hp in space)):
            yield {hp.name: value for hp, value in zip(space, combination)}

    def populate_space(self, trial_id):
        busy = set(self._handed_out)
        busy.update(_values_key(trial.hyperparameters.values)
                    for trial in self.ongoing_trials.values())
        busy.update(_values_key(self.trials[identifier].hyperparameters.values)
                    for identifier in self._retry_queue)
        for values in self.combinations():
            if _values_key(values) not in busy and not self.is_done(values):
                return {"status": "RUNNING", "values": values}
        return {"status": "IDLE" if self.ongoing_trials else "STOPPED", "values": None}

    @keras_tuner.synchronized
    def create_trial(self, tuner_id):
        trial = super().create_trial(tuner_id)
        if trial.status == "RUNNING":
            self._handed_out.add(_values_key(trial.hyperparameters.values))
        return trial

    def save(self):
        results.atomic_write_json(self._get_oracle_fname(), self.get_state())

    def reload(self):
        # keras-tuner restores the saved search space; the grid of this run replaces it, so a
        # resumed sweep may narrow or extend the grid (finished points are skipped anyway).
        declared = self.hyperparameters
        super().reload()
        self.hyperparameters = declared


class BetaSweepTuner(keras_tuner.GridSearch):
    """Grid search over beta x seed (x fraction) for one zoo entry of one study.

    `run_trial` skips a trial whose record exists (returning its stored objective), else
    runs the study's experiment, writes the record atomically and returns the objective.

    Args:
        hypermodel: `BetaVAEHyperModel`.
        study: "shapes" or "mnist".
        results_dir: path of the results directory.
        profile: `bvae_tf.profiles.Profile`.
        verbose: int, 0 silent; 2 also prints keras-tuner's and Keras' logs.
        on_trial_done: callable() run after every trial (progress bars), or None.
        **kwargs: `keras_tuner.Tuner` arguments (`directory`, `project_name`, `overwrite`).
    """

    def __init__(self, hypermodel, study, results_dir, profile, verbose=0, on_trial_done=None,
                 **kwargs):
        self.study = study
        self.results_dir = pathlib.Path(results_dir)
        self.profile = profile
        self.verbose = verbose
        self.on_trial_done = on_trial_done
        self._asked_without_trial = False
        grid = keras_tuner.HyperParameters()
        hypermodel.declare_hyperparameters(grid)
        oracle = SweepOracle(is_done=self._is_done, hyperparameters=grid,
                             objective=keras_tuner.Objective(OBJECTIVE, direction="min"))
        keras_tuner.Tuner.__init__(self, oracle, hypermodel, **kwargs)

    def trial_name(self, values):
        """Returns the trial name of a values dict (`bvae_tf.results.trial_name`)."""
        return results.trial_name(self.hypermodel.entry, values["beta"], values["seed"],
                                  values.get("fraction"))

    def _is_done(self, values):
        return results.record_exists(self.results_dir, self.study, self.trial_name(values))

    def _populate_initial_space(self):
        # The grid is declared (given to the oracle), never discovered by building a model.
        pass

    def run_trial(self, trial, data, **search_kwargs):
        values = trial.hyperparameters.values
        name = self.trial_name(values)
        path = results.record_path(self.results_dir, self.study, name)
        if path.is_file():
            try:
                return objective_of(results.load_record(path))
            except ValueError as error:
                raise keras_tuner.errors.FatalValueError(str(error)) from error
        try:
            record = self._run_experiment(values, data)
        except Exception:
            print(f"bvae-tf sweep: trial {name} failed:", file=sys.stderr)
            traceback.print_exc()
            raise
        record["config"] = {**record.get("config", {}), "profile": self.profile.name}
        record["worker"] = {"tuner_id": self.tuner_id, "pid": os.getpid(),
                            "host": socket.gethostname()}
        results.write_record(self.results_dir, record)
        return objective_of(record)

    def _run_experiment(self, values, data):
        import gc

        import keras

        # Each trial builds a new model. The last trial's model, optimizer and traced
        # functions sit in reference cycles that hold few Python objects but hundreds of MB of
        # tensors, so the garbage collector rarely runs on its own: collect them now. (What
        # TensorFlow itself kept of every trained model, `BetaVAE.fit` releases: see
        # `bvae_tf.models.gradient_registry`.)
        gc.collect()
        keras.backend.clear_session(free_memory=True)
        keras_verbose = 2 if self.verbose >= 2 else 0
        if self.study == "shapes":
            from bvae_tf.experiments import shapes

            return shapes.run_trial(self.hypermodel.entry, values["beta"], values["seed"], data,
                                    self.results_dir, self.profile, verbose=keras_verbose)
        from bvae_tf.experiments import mnist

        return mnist.run_trial(self.hypermodel.entry, values["fraction"], values["beta"],
                               values["seed"], data, results_dir=self.results_dir,
                               max_epochs=self.profile.mnist_max_epochs,
                               batch_size=self.profile.batch_size,
                               jit_compile=self.profile.jit_compile, verbose=keras_verbose)

    def load_model(self, trial):
        """Loads the trained `.keras` model of a finished trial from the results directory."""
        import keras

        import bvae_tf.models  # noqa: F401  (registers the custom objects)

        name = self.trial_name(trial.hyperparameters.values)
        record = results.load_record(results.record_path(self.results_dir, self.study, name))
        return keras.saving.load_model(self.results_dir / record["model_path"])

    def pre_create_trial(self):
        # A worker told IDLE (all points taken, some still running) asks again: not too fast.
        if self._asked_without_trial:
            time.sleep(_IDLE_WAIT_S)
        self._asked_without_trial = True

    def on_trial_begin(self, trial):
        self._asked_without_trial = False
        super().on_trial_begin(trial)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        if self.on_trial_done is not None:
            self.on_trial_done()


def objective_of(record):
    """Returns the metrics a trial reports to keras-tuner: validation losses of its record."""
    validation = record["losses"]["validation"]
    return {f"val_{name}": float(validation[name])
            for name in ("reconstruction_loss", "loss", "kl_loss") if name in validation}


def trial_names(grid):
    """Returns the names of every trial of a grid (as `Profile.grid` returns it)."""
    return [results.trial_name(entry, beta, seed, fraction)
            for entry, seed, fraction, beta in itertools.product(
                grid["entries"], grid["seeds"], grid["fractions"], grid["betas"])]


def run_sweep(profile, study, results_dir, entries=None, role="local", oracle="127.0.0.1:8000",
              seed=0, verbose=1, betas=None, seeds=None, fractions=None, cache_dir=None,
              mnist_path=None, connect_timeout=60.0, data=None):
    """Runs (or resumes) the sweep of one study: every grid point exactly once.

    Args:
        profile: `Profile`, or a name ("quick", "paper") or a `.py` path defining PROFILE.
        study: "shapes" or "mnist".
        results_dir: str or path of the results directory (created if missing).
        entries, betas, seeds, fractions: override the profile's grid (None keeps it).
        role: "local" (run every trial here), "chief" (serve the oracles, run nothing) or
            "worker" (take trials from the chief at `oracle`).
        oracle: "HOST:PORT" of the chief; entry `i` is served on `PORT + i`.
        seed: int, seed of the shapes split (`bvae_tf.data.shapes.load(seed=...)`).
        verbose: 0 silent, 1 a progress bar over trials, 2 also keras-tuner and Keras logs.
        cache_dir: shapes cache directory (None: `$BVAE_TF_CACHE` or the user cache).
        mnist_path: mnist.npz (None: `$BVAE_TF_MNIST` or the Keras cache).
        connect_timeout: seconds a worker waits for the chief (each connection and call).
        data: the study's dataset if already loaded (`shapes.load(cache_dir, seed)` or
            `load_mnist(mnist_path)`), else None to load it here.

    Returns:
        dict: `total` trials of the grid, `completed` (records present), `missing` (names of
        trials without a record: failed ones, or, for a chief or worker, ones left to others).

    Raises:
        ValueError: bad role, study, grid or `oracle`, or a results directory made by a
            different configuration, or a corrupted record.
        TimeoutError: a worker cannot reach the chief within `connect_timeout` seconds.
    """
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}: expected one of {ROLES}.")
    profile = profiles.get_profile(profile)
    grid = profile.grid(study, entries=entries, betas=betas, seeds=seeds, fractions=fractions)
    host, port = distributed.parse_address(oracle)
    results_dir = pathlib.Path(results_dir)
    results.check_config(results_dir, results.sweep_config(profile.to_config(), seed))
    results.read_records(results_dir, study)  # a corrupted record stops the sweep here
    names = trial_names(grid)
    with distributed.Progress(results_dir, study, names, enabled=verbose >= 1) as progress:
        if role == "worker":
            distributed.wait_for_chief(host, port, connect_timeout)
        if data is None and role != "chief":
            data = _load_data(study, cache_dir, mnist_path, seed)
        tuners = []
        for offset, entry in enumerate(grid["entries"]):
            with distributed.environment(role, host, port + offset):
                if role == "worker":
                    distributed.wait_for_chief(host, port + offset, connect_timeout)
                tuner = _make_tuner(entry, grid, study, results_dir, profile, verbose, progress)
                if role == "chief":
                    tuners.append(tuner)
                    continue
                with distributed.call_timeout(connect_timeout, f"{host}:{port + offset}"):
                    tuner.search(data=data, verbose=1 if verbose >= 2 else 0)
        if role == "chief":
            distributed.serve(tuners, host, port, progress)
    missing = [name for name in names if not results.record_exists(results_dir, study, name)]
    return {"total": len(names), "completed": len(names) - len(missing), "missing": missing}


def _make_tuner(entry, grid, study, results_dir, profile, verbose, progress):
    fractions = grid["fractions"] if study == "mnist" else None
    hypermodel = BetaVAEHyperModel(entry, grid["betas"], grid["seeds"], fractions)
    directory = results_dir / "tuner"
    arguments = {"directory": str(directory), "project_name": f"{study}-{entry}",
                 "verbose": verbose, "on_trial_done": progress.refresh}
    try:
        tuner = BetaSweepTuner(hypermodel, study, results_dir, profile, **arguments)
    except (ValueError, KeyError, RuntimeError) as error:
        # keras-tuner's own state files are not written atomically: one cut short by a kill
        # cannot be reloaded. The records hold every finished trial, so start that project anew.
        print(f"bvae-tf sweep: keras-tuner state in {directory / arguments['project_name']} "
              f"cannot be reloaded ({error!r}); starting it anew (finished trials are kept "
              "in the records).", file=sys.stderr)
        tuner = BetaSweepTuner(hypermodel, study, results_dir, profile, overwrite=True,
                               **arguments)
    tuner.oracle.verbose = 1 if verbose >= 2 else 0
    return tuner


def _load_data(study, cache_dir, mnist_path, seed):
    if study == "shapes":
        from bvae_tf.data import shapes

        return shapes.load(cache_dir=cache_dir, seed=seed)
    from bvae_tf.data import mnist

    return mnist.load_mnist(mnist_path)
