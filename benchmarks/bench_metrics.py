"""Wall time of each disentanglement metric on the paper's convolutional shapes encoder.

The encoder is `bvae_tf.zoo.conv()` (untrained, seed 0; inference mode), called through
its `encode` (batches of 1,000 inside, 2,000 images per metric call). For each metric at
its defaults: total seconds, seconds inside the encoder and their share, images encoded
(after de-duplication) and requested (before), and the metric's main number. The shapes
grid is loaded (built if absent) before timing.

With `--dci-models`, a second table: DCI at its default sizes with each importance model
(gradient boosting with 100 or 10 trees, random forest) on two encoders with known
answers, as the tests build them: the oracle (the 5 factors read from the grid, scaled to
[0, 1], a constant code and a code of 1e-3 noise) and the oracle with its 5 factor codes
rotated by a random orthogonal matrix.

Example:
    $ python benchmarks/bench_metrics.py                       # the table of BENCHMARKS.md
    $ python benchmarks/bench_metrics.py --only beta_vae,mig   # some rows
    $ python benchmarks/bench_metrics.py --quick               # small sizes, to check it
    $ python benchmarks/bench_metrics.py --only mig --dci-models
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

from bvae_tf import metrics, zoo
from bvae_tf.data import shapes

ROWS = {
    "beta_vae": ("beta_vae", {}),
    "beta_vae_higgins2017": ("beta_vae", {"protocol": "higgins2017"}),
    "factor_vae": ("factor_vae", {}),
    "mig": ("mig", {}),
    "dci": ("dci", {}),
    "dci_10_trees": ("dci", {"n_estimators": 10}),
    "dci_random_forest": ("dci", {"importance_model": "random_forest"}),
    "sap": ("sap", {}),
}
QUICK = {
    "beta_vae": {"num_train": 3_000, "num_validation": 600, "num_test": 600, "max_epochs": 500},
    "factor_vae": {"num_train": 100, "num_eval": 50, "num_variance_estimate": 1_000},
    "higgins2017": {"num_train": 100, "num_test": 50},
    "sizes": {"num_train": 1_000, "num_test": 500},
}


class TimedEncoder:
    """Wraps an `encode_fn`, adding up the seconds spent in it and the images it saw."""

    def __init__(self, encode_fn):
        self.encode_fn = encode_fn
        self.seconds, self.images = 0.0, 0

    def __call__(self, images):
        start = time.perf_counter()
        codes = self.encode_fn(images)
        self.seconds += time.perf_counter() - start
        self.images += len(images)
        return codes


def _quick_options(name, options):
    if name == "beta_vae" and options.get("protocol") == "higgins2017":
        return {**options, **QUICK["higgins2017"]}
    if name in ("beta_vae", "factor_vae"):
        return {**options, **QUICK[name]}
    if name == "mig":
        return {**options, "num_train": QUICK["sizes"]["num_train"]}
    return {**options, **QUICK["sizes"]}


def _requested(name, options, scores):
    """Images a metric asks for before de-duplication (from its sizes)."""
    if name == "beta_vae" and options.get("protocol") == "higgins2017":
        return 2 * 64 * int(scores["beta_vae.num_train"] + scores["beta_vae.num_test"])
    if name == "beta_vae":
        return 2 * int(sum(scores[f"beta_vae.num_{split}"]
                           for split in ("train", "validation", "test")))
    if name == "factor_vae":
        return options.get("num_variance_estimate", 10_000) + 64 * (
            options.get("num_train", 10_000) + options.get("num_eval", 5_000))
    return options.get("num_train", 10_000) + options.get("num_test", 5_000) * (name != "mig")


def run_row(row, data, model, seed, quick):
    name, options = ROWS[row]
    options = _quick_options(name, options) if quick else options
    encoder = TimedEncoder(lambda images: model.encode(images, batch_size=1_000))
    encoder(data.sample_observations_from_factors(data.sample_factors(1_000, 0), 0))  # warm-up
    encoder.seconds, encoder.images = 0.0, 0
    start = time.perf_counter()
    scores = metrics.METRICS[name](data, encoder, seed, **options)
    total = time.perf_counter() - start
    score = f"{name}={scores[name]:.3f}"
    if "beta_vae.epochs" in scores:
        score += f" ({scores['beta_vae.epochs']:.0f} epochs)"
    return [row, f"{total:.1f}", f"{encoder.seconds:.1f}", f"{encoder.seconds / total:.0%}",
            f"{encoder.images:,}", f"{_requested(name, options, scores):,}", score]


def oracle_encoders(data):
    """The tests' oracle and rotated oracle (tests/metrics/conftest.py), seed 0."""
    scale = 1.0 / (np.asarray(data.factors_num_values) - 1.0)
    noise = np.random.RandomState(0)
    rotation = np.linalg.qr(np.random.RandomState(1000).randn(5, 5))[0]

    def oracle(images):
        factors = data.factors_of(images) * scale
        return np.hstack([factors, np.full((len(factors), 1), 0.5),
                          1e-3 * noise.rand(len(factors), 1)])

    def rotated(images):
        codes = oracle(images)
        codes[:, :5] = codes[:, :5] @ rotation
        return codes

    return {"oracle": oracle, "rotated": rotated}


def dci_models_table(data, seed):
    models = {"gradient boosting, 100 trees": {}, "gradient boosting, 10 trees":
              {"n_estimators": 10}, "random forest, 20 trees": {"importance_model":
                                                                 "random_forest"}}
    print("\nencoder | importance model | s | disentanglement | completeness | "
          "informativeness (test)")
    for encoder_name in ("oracle", "rotated"):
        for model_name, options in models.items():
            encoder = oracle_encoders(data)[encoder_name]
            start = time.perf_counter()
            scores = metrics.dci(data, encoder, seed, **options)
            print(f"{encoder_name} | {model_name} | {time.perf_counter() - start:.0f} | "
                  f"{scores['dci']:.3f} | {scores['dci.completeness']:.3f} | "
                  f"{scores['dci.informativeness_test']:.3f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(ROWS), help="Comma-separated rows.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--quick", action="store_true", help="Small sizes (a smoke test).")
    parser.add_argument("--dci-models", action="store_true",
                        help="Also compare DCI's importance models on known encoders.")
    args = parser.parse_args()
    data = shapes.load(cache_dir=args.cache_dir)
    model = zoo.conv(seed=0)
    print(f"CPUs: {os.cpu_count()}; TF threads: intra-op "
          f"{tf.config.threading.get_intra_op_parallelism_threads() or 'auto'}, inter-op "
          f"{tf.config.threading.get_inter_op_parallelism_threads() or 'auto'}")
    header = ["metric", "total s", "encode s", "encode share", "images encoded",
              "images requested", "score"]
    widths = [20, 7, 8, 12, 14, 16, 36]
    for cells in [header, ["-" * width for width in widths]]:
        print(" | ".join(f"{cell:<{width}}" for cell, width in zip(cells, widths)))
    for row in args.only.split(","):
        cells = run_row(row, data, model, args.seed, args.quick)
        print(" | ".join(f"{cell:<{width}}" for cell, width in zip(cells, widths)), flush=True)
    if args.dci_models:
        dci_models_table(data, args.seed)


if __name__ == "__main__":
    main()
