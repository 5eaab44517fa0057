"""Beta sweeps with keras-tuner: one project per study, over entry x seed (x fraction) x beta.

`run_sweep` runs one study of a profile as one keras-tuner project,
`<results>/tuner/<study>/`, whose hyperparameters are the zoo entry, the seed, the MNIST
fraction and beta, and, when asked (`params`), the entries' own: beta-TCVAE's `tc_weight`,
DIP-VAE's `lambda_od`, ... (`bvae_tf.zoo.ZooEntry.hyperparameters`), swept as beta is.
Each keras-tuner trial is one call of `bvae_tf.trial.run_trial`, which writes the record;
the objective reported back is the validation reconstruction loss (min; the total loss is
not comparable across beta).

Resuming: the records are the source of truth. `SweepOracle` hands out the first grid
point, in a fixed order (entry, seed, fraction, the swept params, beta), whose record does
not exist and that no tuner is running, so a rerun of the same command after any
interruption (SIGKILL included) runs exactly the missing trials. keras-tuner 1.4.8's own
`GridSearchOracle` cannot resume (its queue of next combinations is not saved:
keras-team/keras-tuner#1055).

Distributed: keras-tuner's chief/worker mode as designed. `--role chief` sets
`KERASTUNER_TUNER_ID=chief` and serves the study's oracle on `--oracle HOST:PORT` (one
port); every `--role worker` process takes trials from it. A worker restarted with the same
`KERASTUNER_TUNER_ID` gets back the trial it was running when it died (keras-tuner's own
rule), so a killed worker's trial is rerun once. Without a stable id, the lease does it: a
trial whose worker sends no heartbeat for `lease_s` seconds goes to the next worker that
asks (`SweepOracle`).

Example:
    >>> from bvae_tf import tuning
    >>> summary = tuning.run_sweep("quick", "shapes", "runs/quick")  # doctest: +SKIP
    >>> summary["missing"]  # doctest: +SKIP
    []
"""

import itertools
import math
import pathlib
import sys
import time
import traceback

import keras_tuner

from bvae_tf import distributed, inputs, kt_compat, profiles, results, trial, zoo

OBJECTIVE = "val_reconstruction_loss"
ROLES = ("local", "chief", "worker")
_IDLE_WAIT_S = 1.0
# Seconds a trial's tuner may go unheard before its trial goes to another (`SweepOracle`);
# tuners send a heartbeat every tenth of it, at most every 30 s.
LEASE_S = 300.0


def _heartbeats(oracle, trial_id, lease_s):
    """Tells `oracle` that this tuner still runs `trial_id`, from a thread, while inside."""

    def beat():
        try:
            oracle.update_trial(trial_id, {}, step=0)
        except Exception:  # noqa: BLE001, S110 (a missed beat: the lease allows several)
            pass

    return distributed.repeating(min(30.0, lease_s / 10), beat, f"heartbeat-{trial_id}")


class StudyHyperModel(keras_tuner.HyperModel):
    """A keras-tuner `HyperModel` over one study: entry, seed, fraction, options and beta.

    Args:
        study: "shapes" or "mnist".
        grid: dict of tuples `entries`, `seeds`, `betas`, `fractions` (`Profile.grid`), and
            optionally `params`, a dict: hyperparameter of the entries' own -> tuple of
            values (`check_params`).

    Example:
        >>> hypermodel = StudyHyperModel("shapes", {"entries": ("fc",), "betas": (0.0, 4.0),
        ...                                         "seeds": (0,), "fractions": (None,)})
        >>> hypermodel.spec({"entry": "fc", "seed": 0, "beta": 4.0}).name
        'fc-beta4.0-seed0'
    """

    def __init__(self, study, grid):
        super().__init__(name=study)
        self.study = study
        self.grid = grid

    def declare_hyperparameters(self, hp):
        """Declares the grid, in enumeration order: entry, seed, fraction, params, then beta."""
        hp.Choice("entry", list(self.grid["entries"]))
        hp.Choice("seed", list(self.grid["seeds"]))
        if self.study == "mnist":
            hp.Choice("fraction", list(self.grid["fractions"]))
        for name, values in self.grid.get("params", {}).items():
            hp.Choice(name, list(values))
        hp.Choice("beta", list(self.grid["betas"]))
        return hp

    def spec(self, values):
        """Returns the `bvae_tf.trial.TrialSpec` of a grid point (a values dict)."""
        return trial.TrialSpec(values["entry"], values["beta"], values["seed"],
                               values.get("fraction"),
                               {name: values[name] for name in self.grid.get("params", {})})

    def build(self, hp):
        """Returns the compiled zoo model of `hp`'s grid point (untrained)."""
        spec = self.spec(self.declare_hyperparameters(hp).values)
        return zoo.build(spec.entry, spec.beta, seed=spec.seed, **spec.options)


def check_params(params, entries):
    """Checks the swept hyperparameters of the entries' own; returns them cast, as tuples.

    Args:
        params: dict, hyperparameter name -> sequence of values (e.g. `{"tc_weight": [1, 2]}`),
            or None (none swept).
        entries: the grid's zoo entries: each must take every hyperparameter
            (`bvae_tf.zoo.ZooEntry.hyperparameters`).

    Returns:
        dict, name -> tuple of values (cast to the hyperparameter's type), in given order.

    Raises:
        ValueError: a name an entry does not take (its own are listed), no value, a
            repeated or a bad value.

    Example:
        >>> check_params({"tc_weight": [1, 2]}, ["fc_beta_tcvae", "fc_factor_vae"])
        {'tc_weight': (1.0, 2.0)}
    """
    checked = {}
    for name, values in (params or {}).items():
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"Empty grid: no values of {name} to sweep; give at least one "
                             f"(--param {name}=V1,V2,...).")
        casts = [tuple(zoo.entry(entry).check_options({name: value})[name] for value in values)
                 for entry in entries]  # every entry must take it
        cast = casts[0]
        if len(set(cast)) != len(cast):
            raise ValueError(f"Repeated values of {name} in the grid: {cast}; give each once.")
        checked[name] = cast
    return checked


def _grid_specs(grid):
    """Returns the `TrialSpec` of every point of a grid, in the sweep's order (beta fastest)."""
    params = grid.get("params", {})
    return [trial.TrialSpec(entry, beta, seed, fraction, dict(zip(params, chosen)))
            for entry, seed, fraction, *chosen, beta in itertools.product(
                grid["entries"], grid["seeds"], grid["fractions"], *params.values(),
                grid["betas"])]


def _values_key(values):
    return tuple(sorted(values.items()))


class SweepOracle(keras_tuner.oracles.GridSearchOracle):
    """A grid-search oracle that resumes from the records and never runs a point twice.

    Trials are leased: a tuner running one sends a heartbeat (an `update_trial` without
    metrics) every few seconds, and a trial whose tuner has sent none for `lease_s` seconds
    is taken back and handed to the next tuner that asks, which resumes it from its last
    saved epoch. So a worker that dies without a stable `KERASTUNER_TUNER_ID` (whose trial
    keras-tuner would keep "ongoing" for good) delays the sweep by one lease, not forever.

    Args:
        is_done: callable(values dict) -> bool, whether that grid point has its record.
        lease_s: float, seconds without a heartbeat after which a trial is taken back.
            Defaults to `LEASE_S`.
        **kwargs: arguments of `keras_tuner.oracles.GridSearchOracle`.
    """

    def __init__(self, is_done, lease_s=None, **kwargs):
        super().__init__(**kwargs)
        self.is_done = is_done
        self.lease_s = LEASE_S if lease_s is None else lease_s
        self._handed_out = set()
        self._last_heard = {}  # trial id -> time.monotonic() of its tuner's last call

    @keras_tuner.synchronized
    def update_trial(self, trial_id, metrics, step=0):
        self._last_heard[trial_id] = time.monotonic()
        if not metrics:  # a heartbeat
            return self.trials[trial_id]
        return super().update_trial(trial_id, metrics, step)

    def _take_back_silent_trials(self):
        """Requeues every ongoing trial whose tuner has been silent for longer than the lease."""
        now = time.monotonic()
        for tuner_id, ongoing in list(self.ongoing_trials.items()):
            heard = self._last_heard.setdefault(ongoing.trial_id, now)  # reloaded: from now
            if now - heard > self.lease_s:
                del self.ongoing_trials[tuner_id]
                self.tuner_ids.discard(tuner_id)  # else the chief waits for it to leave
                self._retry_queue.append(ongoing.trial_id)
                print(f"bvae-tf sweep: tuner {tuner_id} has not been heard from for "
                      f"{now - heard:.0f} s (lease {self.lease_s:g} s); its trial "
                      f"{ongoing.trial_id} goes to the next tuner that asks.",
                      file=sys.stderr, flush=True)
                self.save()

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
        self._take_back_silent_trials()
        trial = super().create_trial(tuner_id)
        if trial.status == "RUNNING":
            self._handed_out.add(_values_key(trial.hyperparameters.values))
            self._last_heard[trial.trial_id] = time.monotonic()
        return trial

    def save(self):
        results.atomic_write_json(self._get_oracle_fname(), self.get_state())

    def reload(self):
        # keras-tuner restores the saved search space; the grid of this run replaces it, so a
        # resumed sweep may narrow or extend the grid (finished points are skipped anyway).
        declared = self.hyperparameters
        super().reload()
        self.hyperparameters = declared


class StudyTuner(keras_tuner.Tuner):
    """Grid search over one study; each trial is `bvae_tf.trial.run_trial`.

    `run_trial` skips a trial whose record exists (returning its stored objective), else
    runs it (the runner writes the record) and returns the objective.

    Args:
        hypermodel: `StudyHyperModel`.
        results_dir: path of the results directory.
        settings: `bvae_tf.profiles.TrialSettings` of the study.
        split_seed: int, seed of the shapes split the data was loaded with.
        verbose: int, 0 silent; 2 also prints keras-tuner's and Keras' logs.
        on_trial_done: callable() run after every trial (progress bars), or None.
        **kwargs: `keras_tuner.Tuner` arguments (`directory`, `project_name`, `overwrite`).
    """

    def __init__(self, hypermodel, results_dir, settings, split_seed=0, verbose=0,
                 on_trial_done=None, lease_s=None, **kwargs):
        self.results_dir = pathlib.Path(results_dir)
        self.settings = settings
        self.split_seed = split_seed
        self.verbose = verbose
        self.on_trial_done = on_trial_done
        self._asked_without_trial = False
        grid = hypermodel.declare_hyperparameters(keras_tuner.HyperParameters())
        self.lease_s = LEASE_S if lease_s is None else lease_s
        oracle = SweepOracle(is_done=self._is_done, lease_s=self.lease_s, hyperparameters=grid,
                             objective=keras_tuner.Objective(OBJECTIVE, direction="min"))
        super().__init__(hypermodel=hypermodel, oracle=oracle, **kwargs)

    def _is_done(self, values):
        return results.record_exists(self.results_dir, self.hypermodel.study,
                                     self.hypermodel.spec(values).name)

    def _populate_initial_space(self):
        # The grid is declared (given to the oracle), never discovered by building a model.
        pass

    def run_trial(self, trial_state, data, **search_kwargs):
        spec = self.hypermodel.spec(trial_state.hyperparameters.values)
        path = results.record_path(self.results_dir, spec.study, spec.name)
        if path.is_file():
            try:
                return objective_of(results.load_record(path))
            except ValueError as error:
                raise keras_tuner.errors.FatalValueError(str(error)) from error
        _release_last_model()
        try:
            with _heartbeats(self.oracle, trial_state.trial_id, self.lease_s):
                record = trial.run_trial(
                    spec, self.settings, self.results_dir, data, split_seed=self.split_seed,
                    worker=trial.this_worker(self.tuner_id),
                    verbose=2 if self.verbose >= 2 else 0)
        except Exception:
            print(f"bvae-tf sweep: trial {spec.name} failed:", file=sys.stderr)
            traceback.print_exc()
            raise
        return objective_of(record)

    def load_model(self, trial_state):
        """Loads the trained `.keras` model of a finished trial from the results directory."""
        import keras  # `import bvae_tf` registers the custom objects

        spec = self.hypermodel.spec(trial_state.hyperparameters.values)
        record = results.load_record(results.record_path(self.results_dir, spec.study,
                                                         spec.name))
        return keras.saving.load_model(results.resolve_inside(self.results_dir,
                                                              record["model_path"]))

    def pre_create_trial(self):
        # A worker told IDLE (all points taken, some still running) asks again: not too fast.
        if self._asked_without_trial:
            time.sleep(_IDLE_WAIT_S)
        self._asked_without_trial = True

    def on_trial_begin(self, trial_state):
        self._asked_without_trial = False
        super().on_trial_begin(trial_state)

    def on_trial_end(self, trial_state):
        super().on_trial_end(trial_state)
        if self.on_trial_done is not None:
            self.on_trial_done()


def _release_last_model():
    """Frees the previous trial's model before building the next one.

    Each trial builds a new model; the last one's model, optimizer and traced functions sit
    in reference cycles that hold few Python objects but hundreds of MB of tensors, so the
    garbage collector rarely runs on its own. (What TensorFlow itself kept of every trained
    model, `BetaVAE.fit` releases: see `bvae_tf.models.gradient_registry`.)
    """
    import gc

    import keras

    gc.collect()
    keras.backend.clear_session(free_memory=True)


def objective_of(record):
    """Returns the metrics a trial reports to keras-tuner: validation losses of its record."""
    validation = record["losses"]["validation"]
    return {f"val_{name}": float(validation[name])
            for name in ("reconstruction_loss", "loss", "kl_loss") if name in validation}


def trial_names(grid):
    """Returns the names of every trial of a grid (as `Profile.grid` returns it, with
    `params` as `check_params` does)."""
    return [spec.name for spec in _grid_specs(grid)]


def run_sweep(profile, study, results_dir, entries=None, role="local", oracle="127.0.0.1:8000",
              seed=0, verbose=1, betas=None, seeds=None, fractions=None, cache_dir=None,
              mnist_path=None, connect_timeout=60.0, data=None, lease_s=LEASE_S, params=None):
    """Runs (or resumes) the sweep of one study: every grid point exactly once.

    Every argument is checked before anything is written.

    Args:
        profile: `Profile`, or a name ("quick", "paper") or a `.py` path defining PROFILE.
        study: "shapes" or "mnist".
        results_dir: str or path of the results directory (created if missing).
        entries, betas, seeds, fractions: override the profile's grid (None keeps it).
        role: "local" (run every trial here), "chief" (serve the oracle, run nothing) or
            "worker" (take trials from the chief at `oracle`).
        oracle: "HOST:PORT" of the chief.
        seed: int, seed of the shapes split (`bvae_tf.data.shapes.load(seed=...)`).
        verbose: 0 silent, 1 a progress bar over trials, 2 also keras-tuner and Keras logs.
        cache_dir: shapes cache directory (None: `$BVAE_TF_CACHE` or the user cache).
        mnist_path: mnist.npz (None: `$BVAE_TF_MNIST` or the Keras cache).
        connect_timeout: seconds (finite, > 0) a worker waits for the chief, per call.
        data: the study's dataset if already loaded (`bvae_tf.inputs.load_data`), else None.
        lease_s: float > 0, seconds a trial's worker may go unheard before the chief hands
            the trial to another worker (`SweepOracle`). Defaults to `LEASE_S`.
        params: dict or None, the entries' own hyperparameters to sweep, name -> values
            (e.g. `{"tc_weight": [1, 2, 5]}`: `check_params`), each point at every beta and
            seed; None sweeps none (each entry at its own values).

    Returns:
        dict: `total` trials of the grid, `completed` (records present), `missing` (names of
        trials without a record: failed ones, or, for a chief or worker, ones left to others).

    Raises:
        ValueError: bad role, study, grid, timeout or `oracle`, a hyperparameter an entry
            does not take, a results directory made by a different configuration, or a
            corrupted record.
        distributed.SweepBusyError: another local sweep or chief holds the directory.
        TimeoutError: a worker cannot reach the chief within `connect_timeout` seconds.
    """
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}: expected one of {ROLES}.")
    if not isinstance(connect_timeout, (int, float)) or not (
            math.isfinite(connect_timeout) and connect_timeout > 0):
        raise ValueError(f"connect_timeout (--connect-timeout) must be a finite number of "
                         f"seconds > 0; got {connect_timeout!r}.")
    if isinstance(lease_s, bool) or not isinstance(lease_s, (int, float)) or not (
            math.isfinite(lease_s) and lease_s > 0):
        raise ValueError(f"lease_s (--lease) must be a finite number of seconds > 0; got "
                         f"{lease_s!r}.")
    profile = profiles.get_profile(profile)
    grid = profile.grid(study, entries=entries, betas=betas, seeds=seeds, fractions=fractions)
    grid["params"] = check_params(params, grid["entries"])
    (seed,) = profiles.check_grid_values("seeds", [seed])
    host, port = distributed.parse_address(oracle)
    if role == "chief":
        distributed.check_listen_address(host, port)
    results_dir = pathlib.Path(results_dir)
    specs = _grid_specs(grid)
    names = [spec.name for spec in specs]
    with distributed.sweep_lock(results_dir, study, role):
        if role != "chief":  # a file in the way or too long a path: said before any training
            longest = max(specs, key=lambda spec: len(spec.name))
            results.prepare_trial_dirs(results_dir, study, longest.entry, longest.name)
        results.check_config(results_dir, results.sweep_config(profile.to_config(), seed))
        results.read_records(results_dir, study)  # a corrupted record stops the sweep here
        with distributed.Progress(results_dir, study, names, enabled=verbose >= 1) as progress:
            if role == "worker":
                distributed.wait_for_chief(host, port, connect_timeout)
            if data is None and role != "chief":
                data = inputs.load_data(study, cache_dir, mnist_path, seed)
            with distributed.environment(role, host, port):
                tuner = _make_tuner(study, grid, results_dir, profile.settings(study), seed,
                                    verbose, progress, lease_s)
                if role == "worker":
                    kt_compat.bound_calls(tuner.oracle, connect_timeout)
                with distributed.chief_errors(f"{host}:{port}", connect_timeout), \
                        progress.refreshing(role == "chief"):
                    tuner.search(data=data, verbose=1 if verbose >= 2 else 0)
    missing = [name for name in names if not results.record_exists(results_dir, study, name)]
    return {"total": len(names), "completed": len(names) - len(missing), "missing": missing}


def _make_tuner(study, grid, results_dir, settings, split_seed, verbose, progress, lease_s):
    hypermodel = StudyHyperModel(study, grid)
    directory = results_dir / "tuner"
    arguments = {"directory": str(directory), "project_name": study, "verbose": verbose,
                 "on_trial_done": progress.refresh, "split_seed": split_seed,
                 "lease_s": lease_s}
    try:
        tuner = StudyTuner(hypermodel, results_dir, settings, **arguments)
    except (ValueError, KeyError, RuntimeError) as error:
        # keras-tuner's own state files are not written atomically: one cut short by a kill
        # cannot be reloaded. The records hold every finished trial, so start that project anew.
        print(f"bvae-tf sweep: keras-tuner state in {directory / study} cannot be reloaded "
              f"({error!r}); starting it anew (finished trials are kept in the records).",
              file=sys.stderr)
        tuner = StudyTuner(hypermodel, results_dir, settings, overwrite=True, **arguments)
    tuner.oracle.verbose = 1 if verbose >= 2 else 0
    return tuner


__all__ = ["LEASE_S", "OBJECTIVE", "ROLES", "StudyHyperModel", "StudyTuner", "SweepOracle",
           "check_params", "objective_of", "run_sweep", "trial_names"]
