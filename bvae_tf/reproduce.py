"""The whole paper in one call: data, both sweeps, the report and the TF Serving config.

`reproduce` runs four stages in order, each resumable, so that running it again after an
interruption continues where it stopped (finished trials are never redone: the sweeps skip
every trial whose record exists):

1. data: build or verify the shapes cache;
2. shapes: the beta sweep of the four shapes zoo entries, scored by the profile's metrics;
3. mnist: the beta sweep of the MNIST entries per training fraction, scored by an SVM;
4. report: Figure 1, Figure 2, tables, reconstructions, traversals and `report.md`, and
   `saved_models/models.config` for `tensorflow_model_server`.

Example:
    >>> report = reproduce("quick", "results/quick")  # doctest: +SKIP
    >>> report.name  # doctest: +SKIP
    'report.md'
"""

import pathlib
import sys
import time

from bvae_tf import inputs, profiles, reports, serving, tuning

STAGES = ("data", "shapes", "mnist", "report")


def reproduce(profile="quick", results_dir="results", cache_dir=None, mnist_path=None, seed=0,
              verbose=1):
    """Runs (or resumes) every stage of the reproduction and returns the report's path.

    Args:
        profile: `bvae_tf.profiles.Profile`, a name ("quick", "paper") or a `.py` path
            defining `PROFILE`. Defaults to "quick" (minutes on a CPU).
        results_dir: str or Path, the results directory. Defaults to "results".
        cache_dir: str, Path or None, the shapes cache. Defaults to None: `$BVAE_TF_CACHE`
            or the user cache dir.
        mnist_path: str, Path or None, `mnist.npz`. Defaults to None: `$BVAE_TF_MNIST`, the
            Keras cache, then Keras' download.
        seed: int, seed of the shapes subsample and split. Defaults to 0.
        verbose: int, 0 silent, 1 stage lines and a progress bar over trials, 2 also Keras'
            progress bars. Defaults to 1.

    Returns:
        Path of `report.md`.

    Raises:
        ValueError: unknown profile, or `results_dir` written by a different configuration.
        RuntimeError: a sweep ended with trials missing (their errors are printed above).
    """
    profile = profiles.get_profile(profile)
    results_dir = pathlib.Path(results_dir)
    say = _stage_printer(verbose)
    say("data", f"shapes cache ({'default' if cache_dir is None else cache_dir})")
    data = inputs.load_data("shapes", cache_dir=cache_dir, split_seed=seed)
    say("data", f"{len(data.train)} train, {len(data.validation)} validation, "
        f"{len(data.test)} test images")
    for study in ("shapes", "mnist"):
        say(study, f"the {study} sweep of profile {profile.name!r} into {results_dir}")
        summary = tuning.run_sweep(profile, study, results_dir, seed=seed, cache_dir=cache_dir,
                                   mnist_path=mnist_path, verbose=verbose,
                                   data=data if study == "shapes" else None)
        if summary["missing"]:
            raise RuntimeError(
                f"The {study} sweep ended with {len(summary['missing'])} trial(s) missing: "
                f"{', '.join(summary['missing'][:5])}. Their errors are printed above; fix "
                "the cause and run the same command again (finished trials are kept)."
            )
    say("report", f"figures and tables into {results_dir / 'report'}")
    report = reports.write_report(results_dir, shapes_cache_dir=cache_dir, mnist_path=mnist_path)
    serving.write_model_config(results_dir / "saved_models")
    say("report", f"done: {report}")
    return report


def _stage_printer(verbose):
    """Returns `say(stage, message)`, printing `[k/4 stage] message (elapsed)` to stderr."""
    start = time.perf_counter()

    def say(stage, message):
        if verbose >= 1:
            number = STAGES.index(stage) + 1
            elapsed = time.perf_counter() - start
            print(f"[{number}/{len(STAGES)} {stage}] {message} ({elapsed:.0f} s)",
                  file=sys.stderr, flush=True)

    return say


__all__ = ["STAGES", "reproduce"]
