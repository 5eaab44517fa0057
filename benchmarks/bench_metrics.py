"""Wall time of each disentanglement metric on the paper's convolutional shapes encoder.

The encoder is `bvae_tf.zoo.conv()` (untrained, seed 0; inference mode), called through
its `encode` (batches of 1,000 inside, 2,000 images per metric call). For each metric at
its defaults: total seconds, seconds inside the encoder and their share, images encoded
(after de-duplication) and requested (before), and the metric's main number. The shapes
grid is loaded (built if absent) before timing.

With `--profile paper` (or `quick`), one table instead: each metric of the profile with the
profile's options (`metric_options`, the rest at the metric's defaults), as one trial runs it
(`bvae_tf.metrics.compute`, the trial's seed), and its seconds, on an untrained
`bvae_tf.zoo.fc()` encoder (`--entry` for another) called with the profile's batch size;
printed beside the CPU model and thread count (`lscpu`) and the load average before and
after (`os.getloadavg()`). `--dci-n-jobs 1` adds a row of DCI fitted sequentially.

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
    $ python benchmarks/bench_metrics.py --profile paper        # one trial's metric cost
"""

import argparse
import functools
import os
import subprocess
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

from bvae_tf import metrics, profiles, zoo
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


def cpu_description():
    """`lscpu`'s model name and CPU count (os.cpu_count() where lscpu is missing)."""
    try:
        lines = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return f"unknown CPU, {os.cpu_count()} threads"
    fields = dict(line.split(":", 1) for line in lines.splitlines() if ":" in line)
    model = fields.get("Model name", "unknown CPU").strip()
    return f"{model}, {fields.get('CPU(s)', os.cpu_count()).strip()} threads"


def _load():
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def profile_table(profile_name, entry, seed, cache_dir, dci_n_jobs):
    """One trial's metrics at a profile's settings: metric, options, seconds."""
    profile = profiles.get_profile(profile_name)
    data = shapes.load(cache_dir=cache_dir)
    model = getattr(zoo, entry)(seed=0)
    encoder = functools.partial(model.encode, batch_size=profile.batch_size)
    encoder(data.sample_observations_from_factors(data.sample_factors(1_000, 0), 0))  # warm-up
    rows = [(name, dict(profile.metric_options.get(name, {})), True) for name in profile.metrics]
    if dci_n_jobs is not None and "dci" in profile.metrics:
        rows.append(("dci", {**profile.metric_options.get("dci", {}), "n_jobs": dci_n_jobs},
                     False))
    print(f"Profile {profile.name!r}, encoder zoo.{entry}() untrained, seed {seed}; "
          f"CPU: {cpu_description()}; load average (1/5/15 min) before: {_load()}")
    print("| metric | options | seconds | main number |\n|---|---|---:|---:|")
    total = 0.0
    for name, options, in_profile in rows:
        start = time.perf_counter()
        scores = metrics.compute(name, data, encoder, seed, **{name: options})
        seconds = time.perf_counter() - start
        total += seconds if in_profile else 0.0
        shown = ", ".join(f"{key}={value!r}" for key, value in options.items()) or "defaults"
        print(f"| {name} | {shown} | {seconds:.1f} | {scores[name]:.3f} |", flush=True)
    print(f"| all of the profile's metrics | | {total:.1f} | |")
    print(f"Load average after: {_load()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(ROWS), help="Comma-separated rows.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--quick", action="store_true", help="Small sizes (a smoke test).")
    parser.add_argument("--dci-models", action="store_true",
                        help="Also compare DCI's importance models on known encoders.")
    parser.add_argument("--profile", default=None,
                        help="Time one trial's metrics at this profile's settings instead.")
    parser.add_argument("--entry", default="fc", help="Zoo entry of --profile's encoder.")
    parser.add_argument("--dci-n-jobs", type=int, default=None,
                        help="With --profile: also time DCI with this n_jobs.")
    args = parser.parse_args()
    if args.profile:
        profile_table(args.profile, args.entry, args.seed, args.cache_dir, args.dci_n_jobs)
        return
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
