"""One trial, one owner: build a zoo model, train it, save, export, score, write its record.

`run_trial` is the only code that trains a model for a result: `bvae-tf train` calls it on
one point, the sweeps (`bvae_tf.tuning`) and `bvae-tf reproduce` call it on every grid point.
It writes, under a results directory (layout in `bvae_tf.results` and `docs/records.md`):

```
models/<study>/<trial>/model.keras      the trained model (best weights)
models/<study>/<trial>/history.json     per-epoch losses
models/<study>/<trial>/logs/            TensorBoard and training.csv
models/<study>/<trial>/resume/          the state after the last epoch, until the record
saved_models/<entry>/<trial>/1/         the encoder, TF Serving's layout
records/<study>/<trial>.json            the record, written last and atomically
```

The exported encoder is what gets scored (the study's scorer in `bvae_tf.scoring`), so the
numbers describe the model a user serves. A trial killed at any moment (training, saving,
exporting, scoring) goes on from its last saved epoch when run again, and writes the record
the uninterrupted trial would have, bit for bit on one machine: the resume state
(`bvae_tf.training.fit`'s `resume_dir`) is kept until the record is written, and a state
saved under other settings is refused.

Example:
    >>> from bvae_tf import profiles, trial
    >>> spec = trial.TrialSpec("mnist_fc", beta=1.0, seed=0, fraction=0.1)
    >>> spec.study, spec.name
    ('mnist', 'mnist_fc-frac0.1-beta1.0-seed0')
    >>> record = trial.run_trial(spec, profiles.get_profile("quick").settings("mnist"),
    ...                          "results/demo")  # doctest: +SKIP
"""

import dataclasses
import os
import pathlib
import socket
import time
import zlib

from bvae_tf import export, inputs, profiles, results, scoring, speed, training, zoo
from bvae_tf.data import pipeline
from bvae_tf.models import recalibration


@dataclasses.dataclass(frozen=True)
class TrialSpec:
    """One grid point: a zoo entry at one beta and seed (and, for MNIST, one fraction).

    Args:
        entry: str, a name in `bvae_tf.zoo.NAMES` or `bvae_tf.zoo.OBJECTIVE_NAMES`.
        beta: float >= 0, the KL weight.
        seed: int >= 0, seeds the model, the epoch orders, the noise, the MNIST subset and
            the scorer's sampling.
        fraction: float in (0, 1] for MNIST entries (the per-class training fraction), None
            for shapes entries.
        options: dict, the entry's own hyperparameters that replace its values
            (`ZooEntry.hyperparameters`, e.g. `{"tc_weight": 2.0}`); in the name and the
            record only when given. Defaults to {}.

    Raises:
        ValueError: unknown entry, a bad value, a fraction given to a shapes entry (or
            missing for an MNIST one), or an option the entry does not take.

    Example:
        >>> TrialSpec("fc_beta_tcvae", 1.0, 0, options={"tc_weight": 2}).name
        'fc_beta_tcvae-tc_weight2.0-beta1.0-seed0'
    """

    entry: str
    beta: float
    seed: int
    fraction: float | None = None
    options: dict = dataclasses.field(default_factory=dict, hash=False)

    def __post_init__(self):
        study = zoo.entry(self.entry).dataset
        object.__setattr__(self, "options", zoo.entry(self.entry).check_options(self.options)
                           if self.options else {})
        for key, value in (("betas", self.beta), ("seeds", self.seed)):
            (checked,) = profiles.check_grid_values(key, [value])
            object.__setattr__(self, key[:-1], checked)
        if (self.fraction is None) != (study == "shapes"):
            raise ValueError(f"Zoo entry {self.entry!r} trains on {study}: fraction must be "
                             f"{'None' if study == 'shapes' else 'in (0, 1]'}; got "
                             f"{self.fraction!r}.")
        if self.fraction is not None:
            (fraction,) = profiles.check_grid_values("fractions", [self.fraction])
            object.__setattr__(self, "fraction", fraction)

    @property
    def study(self):
        """str: "shapes" or "mnist", the dataset of the entry."""
        return zoo.entry(self.entry).dataset

    @property
    def name(self):
        """str: the trial's name (`bvae_tf.results.trial_name`)."""
        return results.trial_name(self.entry, self.beta, self.seed, self.fraction, self.options)


def run_trial(spec, settings, results_dir, data=None, *, cache_dir=None, mnist_path=None,
              split_seed=0, worker=None, verbose=0, save_every_s=30.0):
    """Trains, saves, exports and scores one trial, then writes its record atomically.

    Args:
        spec: `TrialSpec`.
        settings: `bvae_tf.profiles.TrialSettings` (`profile.settings(spec.study)`).
        results_dir: str or path of the results directory (created if missing).
        data: the study's dataset if already loaded (`bvae_tf.inputs.load_data`), else None.
        cache_dir: shapes cache directory, used when `data` is None.
        mnist_path: mnist.npz, used when `data` is None.
        split_seed: int, seed of the shapes split (`shapes.load(seed=...)`) when
            `settings.shapes_split` is "shared"; with "per_seed" the trial's seed. Defaults
            to 0.
        worker: dict describing the sweep worker that ran it, or None (this process).
        verbose: Keras' `fit` verbosity. Defaults to 0.
        save_every_s: float, the least seconds between two saves of the resume state (0:
            after every epoch). Defaults to 30.

    Returns:
        dict, the record (schema in `docs/records.md`).

    Raises:
        bvae_tf.training.NaNLossError: the loss became NaN.
        ValueError: bad settings, or data of the wrong study.
    """
    start = time.perf_counter()
    results_dir = pathlib.Path(results_dir)
    results.prepare_trial_dirs(results_dir, spec.study, spec.entry, spec.name)
    if spec.study == "shapes" and settings.shapes_split == "per_seed":
        split_seed = spec.seed
    if data is None:
        data = inputs.load_data(spec.study, cache_dir, mnist_path, split_seed)
    elif spec.study == "shapes":
        data = data.with_split_seed(split_seed)
    model_dir = results.model_dir(results_dir, spec.study, spec.name)
    precision, jit_compile = speed.resolve(zoo.entry(spec.entry).model_config(),
                                           settings.batch_size, settings.precision,
                                           settings.jit_compile)  # measures once a machine
    model = zoo.build(spec.entry, spec.beta, seed=spec.seed, jit_compile=jit_compile,
                      precision=precision, batch_size=settings.batch_size,
                      learning_rate=settings.learning_rate,
                      batch_norm_momentum=settings.batch_norm_momentum,
                      validation_statistics=settings.validation_statistics, **spec.options)
    fraction = spec.fraction if spec.study == "mnist" else settings.train_fraction
    drawn_on = inputs.input_pipeline(settings.input_pipeline)
    train_ds, validation_ds = inputs.make_datasets(
        data, spec.entry, seed=spec.seed, train_fraction=fraction,
        batch_size=settings.batch_size, validation_size=settings.validation_size,
        fresh_validation_noise=settings.validation_noise == "fresh",
        rounding=settings.mnist_subset_rounding,
        on_device=drawn_on == "device")
    resume_dir = model_dir / "resume"
    fitted = training.fit(model, train_ds, validation_ds, max_epochs=settings.max_epochs,
                          patience=settings.patience, log_dir=model_dir / "logs",
                          resume_dir=resume_dir, resume_interval_s=save_every_s,
                          verbose=verbose, resume_settings=_resume_settings(
                              spec, settings, model, split_seed))
    history, resumed = fitted.history, fitted.resumed
    training_s = time.perf_counter() - start + (resumed["training_s"] if resumed else 0.0)
    model_dir.mkdir(parents=True, exist_ok=True)
    model.save(model_dir / "model.keras")
    results.atomic_write_json(model_dir / "history.json", training.per_epoch(history))
    encoder_dir = export.export_encoder(model, results_dir / "saved_models" / spec.entry,
                                        spec.name, version=1, overwrite=True)
    encoder = export.load_encoder(encoder_dir, batch_size=settings.batch_size)
    say = print if verbose else (lambda *args, **kwargs: None)
    scores, scoring_s = _score(spec, settings, encoder, data, say)
    paths = {"encoder_path": results.relative_path(encoder_dir, results_dir)}
    if settings.recalibrated_scores:
        say(f"{spec.name}: re-estimating batch-norm statistics on the training data",
            flush=True)
        recalibrated_dir = _recalibrate_and_export(model, spec, settings, data, fraction,
                                                   results_dir)
        recalibrated = export.load_encoder(recalibrated_dir, batch_size=settings.batch_size)
        more, more_s = _score(spec, settings, recalibrated, data, say, "recalibrated ")
        scores.update({f"{key}.{results.RECALIBRATED}": value for key, value in more.items()})
        scoring_s.update({f"{key}.{results.RECALIBRATED}": value for key, value in more_s.items()})
        paths["recalibrated_encoder_path"] = results.relative_path(recalibrated_dir,
                                                                   results_dir)
    config = {**settings.to_config(), "learning_rate": float(model.optimizer.learning_rate),
              "jit_compile": bool(model.jit_compile), "precision": model.precision,
              "input_pipeline": drawn_on,
              "split_seed": int(split_seed), "train_batches": len(train_ds)}
    record = {
        "schema_version": results.SCHEMA_VERSION, "study": spec.study,
        "trial_name": spec.name, "entry": spec.entry, "beta": spec.beta, "seed": spec.seed,
        "fraction": spec.fraction, **({"options": spec.options} if spec.options else {}),
        "config": config, "versions": results.versions(),
        "machine": results.machine(), **training.summarize_history(history, settings.patience),
        "metrics": scores, "scoring_s": scoring_s,
        "model_path": results.relative_path(model_dir / "model.keras", results_dir),
        **paths,
        "worker": worker or this_worker(), "training_s": round(training_s, 3),
        "resumed_from_epoch": resumed["epoch"] if resumed else None,
        "processes": fitted.processes, "code": results.code_version(),
        "wall_time_s": round(time.perf_counter() - start, 3),
    }
    results.write_record(results_dir, record)
    training.discard_resume_state(resume_dir)  # kept until now: a kill above loses nothing
    return record


# Settings of the scores only: a resumed trial may change them (the model is the same).
SCORING_SETTINGS = ("metrics", "metric_options", "metric_samples", "recalibrated_scores")


def _resume_settings(spec, settings, model, split_seed):
    """What a trial's resume state must have been saved under to be resumed: all that shapes
    its training."""
    shaping = {key: value for key, value in settings.to_config().items()
               if key not in SCORING_SETTINGS}
    return {"trial": spec.name, **shaping, "split_seed": int(split_seed),
            "resolved_precision": model.precision,
            "resolved_jit_compile": bool(model.jit_compile)}


def _recalibrate_and_export(model, spec, settings, data, fraction, results_dir):
    """Re-estimates the encoder's batch-norm statistics on one pass of the training inputs
    (noisy for the denoising entries, as trained), and exports it as version 2."""
    train, _ = inputs.make_datasets(
        data, spec.entry, seed=spec.seed, train_fraction=fraction,
        batch_size=settings.batch_size, validation_size=1,
        rounding=settings.mnist_subset_rounding)
    pipeline.set_epoch(train, 0)
    recalibration.recalibrate_batch_norm(model.encoder, train)
    return export.export_encoder(model, results_dir / "saved_models" / spec.entry, spec.name,
                                 version=2, overwrite=True)


def scoring_seed(spec, settings):
    """The seed of a trial's scorer: the trial's seed, or one of its own per model.

    `metric_samples="per_seed"` (the authors: one draw of pairs per run, reused for every
    beta) uses the trial's seed; "per_model" (new pairs for every model) derives it
    from the trial name, so models that share a seed still get different samples.

    Example:
        >>> from bvae_tf import profiles
        >>> spec = TrialSpec("fc", 4.0, 0)
        >>> scoring_seed(spec, profiles.TrialSettings())
        0
        >>> scoring_seed(spec, profiles.TrialSettings(metric_samples="per_model")) == zlib.crc32(
        ...     b"fc-beta4.0-seed0")
        True
    """
    if settings.metric_samples == "per_seed":
        return spec.seed
    return zlib.crc32(spec.name.encode("utf-8"))


def _score(spec, settings, encoder, data, say, which=""):
    """The trial's scores, and the seconds each metric (or the SVM) took; `say` tells which."""
    seed = scoring_seed(spec, settings)
    if spec.study == "shapes":
        scores, seconds = {}, {}
        for name in settings.metrics:  # one at a time: with an int seed, the same numbers
            say(f"{spec.name}: scoring the {which}exported encoder with {name}", flush=True)
            start = time.perf_counter()
            scores.update(scoring.shapes_scores(encoder, data, seed, (name,),
                                                settings.metric_options))
            seconds[name] = round(time.perf_counter() - start, 3)
        return scores, seconds
    start = time.perf_counter()
    subset = inputs.mnist_training_subset(data, spec.fraction, spec.seed,
                                          settings.mnist_subset_rounding)
    say(f"{spec.name}: fitting the paper's SVM on the {which}codes of {len(subset.images):,} "
        "training images", flush=True)
    scores = scoring.svm_accuracy(encoder, subset, data.test, seed)
    return scores, {"svm": round(time.perf_counter() - start, 3)}


def this_worker(tuner_id=None):
    """Returns the record's `worker` field for this process: tuner id, pid and host."""
    return {"tuner_id": tuner_id, "pid": os.getpid(), "host": socket.gethostname()}


__all__ = ["TrialSpec", "run_trial", "scoring_seed", "this_worker"]
