"""What batch-norm statistics do to the MNIST findings: SVM accuracy both ways, one table.

For every MNIST record of a results directory (default: the reference runner's runs folder),
the SVM test accuracy of the exported encoder with the authors' batch-norm statistics (the
moving averages, `svm_accuracy`) and with the statistics re-estimated on the trial's
training subset (`svm_accuracy.recalibrated`, `bvae_tf.models.recalibration`). Records that
have both (`recalibrated_scores`, the paper profile since December 7, 2026) are read as they
are; for older ones, where the trial's `model.keras` is still in the folder, the recalibrated
score is computed here exactly as `bvae_tf.trial` does (same subset, same scorer seed).
Prints one table: entry, fraction, beta, seeds, both accuracies (mean +- sd over seeds,
ddof 1), and the lscpu line.

Example:
    $ python benchmarks/bench_batch_norm.py                     # ~/.cache/bvae_tf/runs/reference
    $ python benchmarks/bench_batch_norm.py --results results/paper
"""

import argparse
import collections
import os
import pathlib
import statistics
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_train import _lscpu

from bvae_tf import reference, results, trial

RECALIBRATED = f"svm_accuracy.{results.RECALIBRATED}"


def recalibrated_accuracy(record, results_dir, data):
    """The record's recalibrated SVM accuracy: read, or computed from its saved model."""
    if RECALIBRATED in record["metrics"]:
        return record["metrics"][RECALIBRATED]
    import keras

    import bvae_tf.models  # noqa: F401  (registers BetaVAE)
    from bvae_tf import export, inputs, profiles, scoring
    from bvae_tf.models.recalibration import recalibrate_batch_norm

    path = results_dir / record["model_path"]
    if not path.is_file():
        return None
    model = keras.saving.load_model(path)
    settings = profiles.TrialSettings(**{
        key: value for key, value in record["config"].items()
        if key in ("metric_samples", "mnist_subset_rounding")})
    spec = trial.TrialSpec(record["entry"], record["beta"], record["seed"], record["fraction"])
    subset = inputs.mnist_training_subset(data, spec.fraction, spec.seed,
                                          settings.mnist_subset_rounding)
    recalibrate_batch_norm(model.encoder, subset.images)
    with tempfile.TemporaryDirectory() as directory:  # scored as exported, as a trial does
        encoder = export.load_encoder(export.export_encoder(model, directory, spec.name))
        return scoring.svm_accuracy(encoder, subset, data.test,
                                    trial.scoring_seed(spec, settings))["svm_accuracy"]


def _mean_sd(values):
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=None, help="results directory (default: the "
                        "reference runner's runs folder)")
    args = parser.parse_args(argv)
    results_dir = pathlib.Path(args.results or reference.default_runs_dir())
    records = results.read_records(results_dir, "mnist")
    data = None
    groups = collections.defaultdict(lambda: ([], []))
    for record in records:
        if RECALIBRATED not in record["metrics"] and data is None:
            from bvae_tf.data import mnist

            data = mnist.load_mnist()
        again = recalibrated_accuracy(record, results_dir, data)
        if again is None:
            continue
        authors, recalibrated = groups[(record["entry"], record["fraction"], record["beta"])]
        authors.append(record["metrics"]["svm_accuracy"])
        recalibrated.append(again)
    print("| entry | fraction | beta | seeds | SVM accuracy, authors' statistics | "
          "recalibrated |")
    print("|---|---|---|---|---|---|")
    for (entry, fraction, beta), (authors, recalibrated) in sorted(groups.items()):
        print(f"| {entry} | {fraction:g} | {beta:g} | {len(authors)} | {_mean_sd(authors)} | "
              f"{_mean_sd(recalibrated)} |")
    print(f"\nrecords: {results_dir}; {_lscpu()}")


if __name__ == "__main__":
    main()
