"""Resident memory of a process that trains zoo models one after another.

Trains `bvae_tf.zoo.fc()` (XLA off) on 400 random binary images for one epoch at batch
100, `--models` times in one process, with `gc.collect()` and
`keras.backend.clear_session()` after each, and prints the resident memory after each model:
through `BetaVAE.fit` (which releases the train step's custom gradients, see
`bvae_tf.models.gradient_registry`) and through `keras.Model.fit` (which does not).

Example:
    $ python benchmarks/bench_memory.py              # the table of BENCHMARKS.md
    $ python benchmarks/bench_memory.py --models 2   # a quick check of the script
"""

import argparse
import gc
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from bvae_tf import zoo


def resident_mb():
    """Resident set size of this process in MB (Linux `/proc/self/statm`)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def train_in_a_loop(num_models, fit):
    """Returns the resident MB after each of `num_models` models trained by `fit(model, ds)`."""
    images = np.random.default_rng(0).integers(0, 2, (400, 64, 64, 1)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((images, images)).batch(100)
    resident = []
    for seed in range(num_models):
        model = zoo.fc(seed=seed, jit_compile=False)
        fit(model, data)
        del model
        gc.collect()
        keras.backend.clear_session(free_memory=True)
        resident.append(resident_mb())
    return resident


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=6, help="Models trained per variant.")
    args = parser.parse_args(argv)
    variants = {
        "BetaVAE.fit (releases)": lambda model, data: model.fit(data, epochs=1, verbose=0),
        "keras.Model.fit (keeps)": lambda model, data: keras.Model.fit(
            model, data, epochs=1, verbose=0),
    }
    rows = {name: train_in_a_loop(args.models, fit) for name, fit in variants.items()}
    print("| fit | " + " | ".join(f"after model {i + 1} (MB)" for i in range(args.models))
          + " | growth per model (MB) |")
    print("| --- |" + " ---: |" * (args.models + 1))
    for name, resident in rows.items():
        growth = (resident[-1] - resident[0]) / max(1, len(resident) - 1)
        print(f"| {name} | " + " | ".join(f"{value:,.0f}" for value in resident)
              + f" | {growth:,.0f} |")


if __name__ == "__main__":
    main()
