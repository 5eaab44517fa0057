"""Wall time of each disentanglement metric on the paper's convolutional shapes encoder.

The encoder is `bvae_tf.zoo.conv()` (untrained, seed 0; inference mode), called through
its `encode` (batches of 1,000 inside, 2,000 images per metric call). For each metric at
its defaults: total seconds, seconds inside the encoder and their share, images encoded
(after de-duplication) and requested (before), and the metric's main number. The shapes
grid is loaded (built if absent) before timing.

Example:
    $ python benchmarks/bench_metrics.py                       # the table of BENCHMARKS.md
    $ python benchmarks/bench_metrics.py --only beta_vae,mig   # some rows
    $ python benchmarks/bench_metrics.py --quick               # small sizes, to check it
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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
    main = {"dci": "dci_disentanglement"}.get(name, name)
    score = f"{main}={scores[main]:.3f}"
    if "beta_vae.epochs" in scores:
        score += f" ({scores['beta_vae.epochs']:.0f} epochs)"
    return [row, f"{total:.1f}", f"{encoder.seconds:.1f}", f"{encoder.seconds / total:.0%}",
            f"{encoder.images:,}", f"{_requested(name, options, scores):,}", score]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(ROWS), help="Comma-separated rows.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--quick", action="store_true", help="Small sizes (a smoke test).")
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


if __name__ == "__main__":
    main()
