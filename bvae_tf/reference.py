"""The reference study: the zoo's wanted reference trials, trained one by one by the paper profile.

The paper's Figure 1 needs shapes models at several betas and seeds, each about an hour of a
2-core AVX-512 CPU (9 to 12 on an AVX2-only one). `run` walks `wanted_trials()` in priority
order, skips every trial that already has a reference record (in the zoo, or finished in the
runs folder), and trains the next ones by the paper profile (float32, every metric) with
`bvae_tf.trial.run_trial`, so a session that ends mid-trial is resumed, bit for bit, by the
next one on the same machine. Finished records wait in the runs folder for
`bvae-tf zoo collect --results <runs folder>`.

The runs folder is `$BVAE_TF_RUNS`, else `runs/reference` beside the shapes cache
(`~/.cache/bvae_tf/runs/reference`): outside any checkout, so a new checkout resumes it.

Example:
    >>> from bvae_tf import reference
    >>> [spec.name for spec in reference.wanted_trials()[:3]]  # doctest: +NORMALIZE_WHITESPACE
    ['mnist_conv-frac0.3-beta0.0-seed0', 'mnist_fc-frac0.1-beta1.0-seed0',
     'mnist_conv-frac0.1-beta0.0-seed0']
"""

import os
import pathlib
import sys
import time

from bvae_tf import inputs, profiles, results, trial
from bvae_tf.data import cache

RUNS_ENV = "BVAE_TF_RUNS"
MNIST_GRID = {"entries": ("mnist_conv", "mnist_fc"), "fractions": (0.1, 0.3),
              "betas": (0.0, 1.0, 4.0)}


def default_runs_dir():
    """`$BVAE_TF_RUNS`, else `<shapes cache>/runs/reference` (`~/.cache/bvae_tf/...`).

    Example:
        >>> default_runs_dir().name
        'reference'
    """
    if os.environ.get(RUNS_ENV):
        return pathlib.Path(os.environ[RUNS_ENV]).expanduser()
    return cache.default_cache_dir() / "runs" / "reference"


def _shapes(entry, betas, seeds):
    """Trials of a shapes entry, seed by seed; beta 0 (the slowest to train) after the rest."""
    return ([trial.TrialSpec(entry, beta, seed) for seed in seeds for beta in betas if beta]
            + [trial.TrialSpec(entry, 0.0, seed) for seed in seeds if 0.0 in betas])


def wanted_trials():
    """The reference trials the zoo wants, highest priority first, each listed once.

    a. the three references that were resumed before resume was bit for bit, the MNIST
    ones first (minutes each) with the other MNIST models whose encoders the repository
    serves (`saved_models/`: 10% of the data, seed 0), then `fc` at beta 4, seed 0;
    e. MNIST seeds 0 to 2 at the 12 grid points (10%, then 30% of the data; beta 0, 1, 4),
    minutes each, which the batch-norm measurement (BENCHMARKS.md) needs, before the hours of
    b. `fc` at beta 0, 1 and 4, seeds 0 to 2; c. `conv_denoising` the same; d. `conv` and
    `fc_denoising` at beta 4, seeds 0 and 1; f. `fc` and `conv_denoising` at beta 2 and 3,
    seeds 0 to 2; then the rest of the paper profile's grids. A record counts once it is a reference (`cards.is_reference`): records
    that name no commit, from before resume was bit for bit, are trained again.

    Returns:
        list of `bvae_tf.trial.TrialSpec`.
    """
    listed = [
        trial.TrialSpec("mnist_conv", 0.0, 0, 0.3), trial.TrialSpec("mnist_fc", 1.0, 0, 0.1),
        *[trial.TrialSpec(entry, beta, 0, 0.1) for entry in MNIST_GRID["entries"]
          for beta in MNIST_GRID["betas"]],
        trial.TrialSpec("fc", 4.0, 0),
        *[trial.TrialSpec(entry, beta, seed, fraction) for fraction in MNIST_GRID["fractions"]
          for seed in (0, 1, 2) for entry in MNIST_GRID["entries"]
          for beta in MNIST_GRID["betas"]],
        *_shapes("fc", (1.0, 4.0, 0.0), (0, 1, 2)),
        *_shapes("conv_denoising", (1.0, 4.0, 0.0), (0, 1, 2)),
        *_shapes("conv", (4.0,), (0, 1)), *_shapes("fc_denoising", (4.0,), (0, 1)),
        *_shapes("fc", (2.0, 3.0), (0, 1, 2)), *_shapes("conv_denoising", (2.0, 3.0), (0, 1, 2)),
    ]
    paper = profiles.get_profile("paper")
    for study in profiles.STUDIES:
        grid = paper.grid(study)
        for seed in grid["seeds"]:
            for entry in grid["entries"]:
                for fraction in grid.get("fractions", (None,)):
                    listed += [trial.TrialSpec(entry, beta, seed, fraction)
                               for beta in grid["betas"]]
    unique = {}
    for spec in listed:
        unique.setdefault(spec.name, spec)
    return list(unique.values())


def status(runs_dir=None, zoo_dir=None):
    """Returns `[(spec, where)]` for every wanted trial: "zoo", "runs" or None (to train).

    Args:
        runs_dir: the runs folder (`default_runs_dir()` if None).
        zoo_dir: the zoo folder whose `records/` holds the committed references (the
            repository's `zoo/` if None).
    """
    from bvae_tf.reports import cards

    runs_dir = pathlib.Path(runs_dir or default_runs_dir())
    found = {}
    for where, directory in (("runs", runs_dir), ("zoo", zoo_dir or cards.default_zoo_dir())):
        if pathlib.Path(directory).is_dir():
            for record in results.read_records(directory):
                if cards.is_reference(record):
                    found[record["trial_name"]] = where
    return [(spec, found.get(spec.name)) for spec in wanted_trials()]


def run(runs_dir=None, zoo_dir=None, max_trials=None, only=None, cache_dir=None,
        mnist_path=None, verbose=1, save_every_s=30.0):
    """Trains the next wanted reference trials by the paper profile; returns their records.

    Args:
        runs_dir: where trials are trained and their records written (`default_runs_dir()`).
        zoo_dir: the zoo folder with the committed references (the repository's `zoo/`).
        max_trials: int or None: stop after training this many. Defaults to None (all).
        only: iterable of trial names or None: train only these wanted trials.
        cache_dir, mnist_path: where the datasets are (see `bvae_tf.inputs.load_data`).
        verbose: 0 (silent) or 1 (a line per trial and Keras' progress bar).
        save_every_s: float, the least seconds between two saves of a trial's resume state.

    Raises:
        ValueError: `only` names a trial that is not wanted.
    """
    runs_dir = pathlib.Path(runs_dir or default_runs_dir())
    todo = [spec for spec, where in status(runs_dir, zoo_dir) if where is None]
    if only is not None:
        names = {spec.name for spec in wanted_trials()}
        unknown = sorted(set(only) - names)
        if unknown:
            raise ValueError(f"--only {', '.join(unknown)}: not a wanted reference trial; "
                             "`bvae-tf zoo wanted` lists them.")
        todo = [spec for spec in todo if spec.name in set(only)]
    paper, data, written = profiles.get_profile("paper"), {}, []
    for number, spec in enumerate(todo[:max_trials], 1):
        if spec.study not in data:
            data[spec.study] = inputs.load_data(spec.study, cache_dir, mnist_path)
        if verbose:
            print(f"[reference {number}/{len(todo[:max_trials])}] {spec.name} by the paper "
                  f"profile into {runs_dir}", flush=True)
        start = time.perf_counter()
        record = trial.run_trial(spec, paper.settings(spec.study), runs_dir, data[spec.study],
                                 verbose=_keras_verbosity(verbose), save_every_s=save_every_s)
        written.append(record)
        if verbose:
            print(f"[reference] {spec.name}: {record['epochs']} epochs (best "
                  f"{record['best_epoch']}), {summary(record)}; "
                  f"{time.perf_counter() - start:.0f} s in this process", flush=True)
    return written


def _keras_verbosity(verbose):
    """Keras' progress bar on a terminal, a line per epoch in a log file, or nothing."""
    return 0 if not verbose else ("auto" if sys.stdout.isatty() else 2)


def summary(record):
    """One line of a record's numbers: the scores and the validation reconstruction loss.

    Example:
        >>> summary({"metrics": {"beta_vae": 0.75, "mig": 0.125},
        ...          "losses": {"validation": {"reconstruction_loss": 40.25}}})
        'beta_vae 0.750, mig 0.125, val. reconstruction 40.25'
    """
    shown = [f"{name} {value:.3f}" for name, value in record["metrics"].items()
             if name in ("beta_vae", "mig", "svm_accuracy")]
    loss = record["losses"]["validation"]["reconstruction_loss"]
    return ", ".join(shown + [f"val. reconstruction {loss:.2f}"])


__all__ = ["default_runs_dir", "run", "status", "summary", "wanted_trials"]
