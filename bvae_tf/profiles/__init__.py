"""Sweep recipes: what `bvae-tf sweep` and `bvae-tf reproduce` run, as small Python configs.

A profile is a frozen `Profile` dataclass; each recipe module defines one as `PROFILE`:
`paper` (the paper's full protocol) and `quick` (a CPU budget of minutes). A profile can also
be any Python file defining `PROFILE`, e.g. a copy of `bvae_tf/profiles/quick.py` edited by
hand. (The design placed recipes in a top-level `zoo/` folder; a top-level folder is not
installed by pip, so they live in the package and `--profile PATH` covers custom ones.)

Example:
    >>> from bvae_tf import profiles
    >>> profile = profiles.get_profile("paper")
    >>> len(profile.shapes_betas), profile.shapes_betas[:3]
    (26, (0.0, 0.2, 0.4))
    >>> profiles.get_profile("quick").grid("shapes")["betas"]
    (0.0, 4.0)
"""

import dataclasses
import importlib
import importlib.util
import numbers
import pathlib

from bvae_tf import zoo

NAMES = ("paper", "quick")
# Largest KL weight a grid takes: beyond it beta * KL overflows float32 within a few steps.
MAX_BETA = 1e6
STUDIES = zoo.DATASETS


def beta_range(stop, step):
    """Returns `(0, step, 2 * step, ..., stop)` rounded to 6 decimals (no float drift)."""
    count = round(stop / step)
    return tuple(round(index * step, 6) for index in range(count + 1))


@dataclasses.dataclass(frozen=True, kw_only=True)
class AuthorsChoices:
    """Where the authors' code and Keras' defaults differ: one field per choice.

    Every field's default is the authors' choice (`docs/protocol.md`, Departures); both
    `TrialSettings` and `Profile` have these fields.
    """

    # Batch norm's moving-average momentum (authors: decay 0.999; Keras' default 0.99).
    batch_norm_momentum: float = zoo.AUTHORS_CHOICES["batch_norm_momentum"]
    # Early stopping's validation loss: "batch_statistics" (authors: their validation ran the
    # training graph) or "moving_averages" (Keras' evaluate).
    validation_statistics: str = zoo.AUTHORS_CHOICES["validation_statistics"]
    # Noise on denoising entries' validation inputs: "fresh" each epoch (authors) or "fixed".
    validation_noise: str = "fresh"
    # Shapes split: "per_seed" (authors: a new split per run, which trains every beta once) or
    # "shared" (every trial uses the sweep's --seed split).
    shapes_split: str = "per_seed"
    # Metric samples: "per_seed" (authors: `run_evaluation.go` draws the classifier's pairs
    # once per run index and scores every beta of that run with them) or "per_model" (new
    # pairs for every model).
    metric_samples: str = "per_seed"
    # MNIST per-class subset size: "floor" (authors: int(fraction * n)) or "round".
    mnist_subset_rounding: str = "floor"


@dataclasses.dataclass(frozen=True)
class TrialSettings(AuthorsChoices):
    """How one trial of a study is trained and scored: what `bvae_tf.trial.run_trial` reads.

    `Profile.settings(study)` derives it from a profile; `bvae-tf train` builds one from its
    flags. Every field is written into the trial's record (`config`).
    """

    # Name of the recipe ("paper", "quick", a profile file's name, or "train").
    profile: str = "train"
    # Epoch cap; None = the paper's (early stopping alone ends training).
    max_epochs: int | None = None
    # Early stopping: stop after `patience + 1` epochs without a lower validation loss (paper: 5).
    patience: int = 5
    # Batch size of training and evaluation (paper: 1,000).
    batch_size: int = 1000
    # Shapes: fraction of the training split (1.0 = paper). MNIST trials take theirs from the grid.
    train_fraction: float | None = None
    # Validation images early stopping watches; None = the paper's (shapes 40,000, MNIST 5,000).
    validation_size: int | None = None
    # Adam's learning rate: "auto" = the zoo entry's rule (paper).
    learning_rate: float | str = "auto"
    # XLA: "auto" = the faster on this machine (bvae_tf.speed's probe).
    jit_compile: bool | str = "auto"
    # "float32", "mixed_bfloat16" or "auto" (the faster on this machine, bfloat16 only where
    # the hardware has it: bvae_tf.speed).
    precision: str = "auto"
    # Where batches are drawn: "host" (tf.data decodes and noises them on the CPU threads),
    # "device" (the split kept in device memory, drawn inside the step: DeviceBatches) or
    # "auto" (device when TensorFlow sees a GPU). Same batches either way.
    input_pipeline: str = "auto"
    # Shapes: metrics computed on the exported encoder (names in bvae_tf.metrics.METRICS).
    metrics: tuple = ()
    # Shapes: keyword options per metric.
    metric_options: dict = dataclasses.field(default_factory=dict)
    # Also score the encoder with batch norm's statistics re-estimated on the training data
    # (`bvae_tf.models.recalibration`): every score again as `<name>.recalibrated`.
    recalibrated_scores: bool = False

    def __post_init__(self):
        check_choices(self)

    def to_config(self):
        """Returns every field as a JSON-serialisable dict (tuples become lists)."""
        return _jsonable(dataclasses.asdict(self))


@dataclasses.dataclass(frozen=True)
class Profile(AuthorsChoices):
    """One recipe of the beta sweeps; every field is used by `bvae_tf.tuning.run_sweep`."""

    # Name written into config.json and every record ("paper", "quick", or your own).
    name: str
    # What the profile is for and why it cuts what it cuts: report.md prints it under the
    # list of its departures from the paper profile.
    note: str = ""
    # Shapes study: zoo entries swept (one keras-tuner project each).
    shapes_entries: tuple = zoo.names("shapes")
    # Shapes study: KL weights beta (paper: 0 to 5 in steps of 0.2, 26 values).
    shapes_betas: tuple = beta_range(5.0, 0.2)
    # Shapes study: training seeds (model initialisation, shuffling, noise, metric samples).
    shapes_seeds: tuple = (0, 1, 2, 3, 4)
    # Shapes study: epoch cap; None = the paper's (early stopping alone ends training).
    max_epochs: int | None = None
    # Shapes study: fraction of the training split used (paper: 1.0, all 186,915 images).
    train_fraction: float = 1.0
    # Shapes study: early stopping watches the first N validation images (paper: 40,000).
    validation_size: int | None = 40_000
    # Batch size of training and evaluation, both studies (paper: 1,000).
    batch_size: int = 1000
    # Shapes study: early-stopping patience in epochs (paper: 5; MNIST uses fit's default, 5).
    patience: int = 5
    # XLA for the models, both studies ("auto": the faster on this machine at the profile's
    # batch size, by bvae_tf.speed's cached probe).
    jit_compile: bool | str = "auto"
    # Precision of the models, both studies: "float32", "mixed_bfloat16" or "auto" (the
    # faster on this machine; bfloat16 only where the hardware has it).
    precision: str = "auto"
    # Both studies: where batches are drawn (INPUT_PIPELINES; see TrialSettings).
    input_pipeline: str = "auto"
    # Adam learning rate of the shapes models: "auto" = the paper's (1e-3; 3e-5 at beta 0).
    learning_rate: float | str = "auto"
    # Shapes study: metrics computed on each exported encoder (names in bvae_tf.metrics.METRICS).
    metrics: tuple = ("beta_vae", "factor_vae", "mig", "dci", "sap")
    # Keyword options (sample sizes) per metric; a metric missing here uses its defaults.
    # Paper's beta-VAE score: 35,001 training, 7,500 validation and 7,500 test samples.
    metric_options: dict = dataclasses.field(default_factory=lambda: {
        "beta_vae": {"num_train": 35_001, "num_validation": 7_500, "num_test": 7_500}})
    # Both studies: also score with recalibrated batch-norm statistics (see TrialSettings).
    recalibrated_scores: bool = False
    # MNIST study: zoo entries swept.
    mnist_entries: tuple = zoo.names("mnist")
    # MNIST study: KL weights beta (paper: 0 to 4 in steps of 0.1, 41 values).
    mnist_betas: tuple = beta_range(4.0, 0.1)
    # MNIST study: per-class fractions of the 55,000 training images (paper: 10%, 30%; +20%).
    mnist_fractions: tuple = (0.1, 0.2, 0.3)
    # MNIST study: training seeds (subset, model, shuffling, sampled codes).
    mnist_seeds: tuple = (0, 1, 2, 3, 4)
    # MNIST study: epoch cap; None = early stopping alone.
    mnist_max_epochs: int | None = None
    # Error bars of the figures and summaries: ddof of the standard deviation over seeds
    # (authors' MNIST summary: 1, the sample standard deviation; 0 is numpy's default).
    std_ddof: int = 1

    def __post_init__(self):
        check_choices(self)

    def grid(self, study, entries=None, betas=None, seeds=None, fractions=None):
        """Returns the grid of one study, narrowed or replaced by the arguments.

        Args:
            study: "shapes" or "mnist".
            entries, betas, seeds, fractions: sequences replacing the profile's (None keeps
                it); fractions apply to MNIST only.

        Returns:
            dict of tuples `entries`, `betas`, `seeds`, `fractions` (`(None,)` for shapes).

        Raises:
            ValueError: unknown study or zoo entry (the valid entries are listed), an entry
                of the other study, an empty grid, or repeated values.

        Example:
            >>> Profile(name="demo").grid("shapes", betas=[1.0], seeds=[0])["betas"]
            (1.0,)
        """
        if study == "shapes":
            if fractions:
                raise ValueError("Fractions apply to the MNIST study only: drop them.")
            grid = {"entries": self.shapes_entries, "betas": self.shapes_betas,
                    "seeds": self.shapes_seeds, "fractions": (None,)}
        elif study == "mnist":
            grid = {"entries": self.mnist_entries, "betas": self.mnist_betas,
                    "seeds": self.mnist_seeds, "fractions": self.mnist_fractions}
        else:
            _check_study(study)
        overrides = {"entries": entries, "betas": betas, "seeds": seeds, "fractions": fractions}
        grid.update({key: tuple(value) for key, value in overrides.items() if value is not None})
        for key, value in grid.items():
            if key != "fractions" or study == "mnist":
                grid[key] = value = check_grid_values(key, value)
            if len(value) == 0:
                raise ValueError(f"Empty grid: no {key} to sweep for study {study!r}; give at "
                                 f"least one (in the profile or with --{key}).")
            if len(set(value)) != len(value):
                raise ValueError(f"Repeated {key} in the grid: {value}; give each value once.")
        _check_entries(grid["entries"], study)
        return grid

    def settings(self, study):
        """Returns the `TrialSettings` of one study of this profile.

        Example:
            >>> get_profile("quick").settings("mnist").max_epochs
            4
        """
        _check_study(study)
        faithful = {name: getattr(self, name) for name in FIDELITY_FIELDS}
        faithful["recalibrated_scores"] = self.recalibrated_scores
        if study == "mnist":
            return TrialSettings(profile=self.name, max_epochs=self.mnist_max_epochs,
                                 batch_size=self.batch_size, jit_compile=self.jit_compile,
                                 precision=self.precision, input_pipeline=self.input_pipeline,
                                 **faithful)
        return TrialSettings(
            profile=self.name, max_epochs=self.max_epochs, patience=self.patience, **faithful,
            batch_size=self.batch_size, train_fraction=self.train_fraction,
            validation_size=self.validation_size, learning_rate=self.learning_rate,
            jit_compile=self.jit_compile, precision=self.precision,
            input_pipeline=self.input_pipeline, metrics=tuple(self.metrics),
            metric_options={name: dict(options) for name, options in self.metric_options.items()
                            if name in self.metrics})

    def to_config(self):
        """Returns every field as a JSON-serialisable dict (tuples become lists)."""
        return _jsonable(dataclasses.asdict(self))


FIDELITY_FIELDS = tuple(field.name for field in dataclasses.fields(AuthorsChoices))
CHOICES = {
    "validation_statistics": ("batch_statistics", "moving_averages"),
    "validation_noise": ("fresh", "fixed"),
    "shapes_split": ("per_seed", "shared"),
    "metric_samples": ("per_seed", "per_model"),
    "mnist_subset_rounding": ("floor", "round"),
    "std_ddof": (0, 1),
}


INPUT_PIPELINES = ("auto", "host", "device")


def check_choices(settings):
    """Raises a ValueError naming any field of a profile or settings outside its choices."""
    for name, choices in CHOICES.items():
        value = getattr(settings, name, choices[0])
        if value not in choices:
            raise ValueError(f"{type(settings).__name__}.{name} must be one of {choices}; got "
                             f"{value!r} (the first is the authors' choice).")
    pipeline = getattr(settings, "input_pipeline", "auto")
    if pipeline not in INPUT_PIPELINES:
        raise ValueError(f"{type(settings).__name__}.input_pipeline must be one of "
                         f"{INPUT_PIPELINES}; got {pipeline!r}.")
    if not isinstance(getattr(settings, "recalibrated_scores", False), bool):
        raise ValueError(  # noqa: TRY004 (a bad setting, as every other check here)
            f"{type(settings).__name__}.recalibrated_scores must be True or False; "
                         f"got {settings.recalibrated_scores!r}.")
    momentum = getattr(settings, "batch_norm_momentum", 0.5)
    if not _is_real(momentum) or not 0 < momentum < 1:
        raise ValueError(f"batch_norm_momentum must be in (0, 1) (authors: 0.999); got "
                         f"{momentum!r}.")


def _check_study(study):
    if study not in STUDIES:
        raise ValueError(f"Unknown study {study!r}: expected one of {STUDIES}.")


def check_grid_values(key, values):
    """Checks one axis of a grid before any work is done; returns its values as a tuple.

    Betas must be numbers from 0 to `MAX_BETA`, seeds ints >= 0, fractions floats in (0, 1].

    Raises:
        ValueError: naming the axis (`--betas`, `--seeds`, `--fractions` on the command
            line) and the bad value.

    Example:
        >>> check_grid_values("betas", [0, 4])
        (0.0, 4.0)
    """
    checks = {
        "betas": (lambda value: _is_real(value) and 0 <= value <= MAX_BETA,
                  f"numbers from 0 to {MAX_BETA:g}"),
        "seeds": (lambda value: isinstance(value, numbers.Integral) and not isinstance(
            value, bool) and 0 <= value < 2**32, "integers from 0 to 2**32 - 1"),
        "fractions": (lambda value: _is_real(value) and 0 < value <= 1,
                      "numbers in (0, 1]"),
    }
    if key not in checks:
        return tuple(values)
    valid, expected = checks[key]
    bad = [value for value in values if not valid(value)]
    if bad:
        raise ValueError(f"Bad {key} {bad}: {key} must be {expected} (--{key} on the command "
                         "line, or the profile's field).")
    cast = int if key == "seeds" else float
    return tuple(cast(value) for value in values)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_entries(entries, study):
    """The paper's entries of the study, or the other objectives' (all on shapes)."""
    valid = [*zoo.names(study), *(name for name in zoo.OBJECTIVE_NAMES
                                  if zoo.entry(name).dataset == study)]
    unknown = [entry for entry in entries if entry not in valid]
    if unknown:
        raise ValueError(f"Unknown zoo entries {unknown} for the {study} study: expected some "
                         f"of {valid} (all zoo entries: {list(zoo.NAMES + zoo.OBJECTIVE_NAMES)}"
                         ").")


def _jsonable(value):
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


def get_profile(name_or_path):
    """Returns a profile by name ("paper", "quick") or from a Python file defining PROFILE.

    Args:
        name_or_path: a `Profile` (returned as is), a name in `NAMES`, or the path of a `.py`
            file defining a module-level `PROFILE = Profile(...)`.

    Returns:
        `Profile`.

    Raises:
        ValueError: unknown name (the known ones are listed), missing file, a file that
            raises (syntax, import or any other error: named, with its line), or a file
            without a `Profile` named `PROFILE`.

    Example:
        >>> get_profile("quick").name
        'quick'
    """
    if isinstance(name_or_path, Profile):
        return name_or_path
    text = str(name_or_path)
    if text in NAMES:
        return importlib.import_module(f"bvae_tf.profiles.{text}").PROFILE
    path = pathlib.Path(text)
    if path.suffix != ".py":
        raise ValueError(f"Unknown profile {text!r}: expected one of {NAMES} or the path of a "
                         ".py file defining PROFILE = bvae_tf.profiles.Profile(...).")
    if not path.is_file():
        raise ValueError(f"No profile file at {path}: give an existing .py file or one of "
                         f"{NAMES}.")
    spec = importlib.util.spec_from_file_location(f"bvae_tf_profile_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # a user's file: any error is a bad profile
        where = f" (line {error.lineno})" if getattr(error, "lineno", None) else ""
        raise ValueError(f"The profile file {path} does not run{where}: "
                         f"{type(error).__name__}: {error}. Fix it; it must define PROFILE = "
                         "bvae_tf.profiles.Profile(...).") from error
    profile = getattr(module, "PROFILE", None)
    if not isinstance(profile, Profile):
        raise ValueError(  # noqa: TRY004  (the CLI reports ValueErrors as usage errors)
            f"{path} must define PROFILE = bvae_tf.profiles.Profile(...); found "
            f"{type(profile).__name__}.")
    return profile


__all__ = ["NAMES", "STUDIES", "AuthorsChoices", "Profile", "TrialSettings", "beta_range", "check_grid_values",
           "get_profile"]
