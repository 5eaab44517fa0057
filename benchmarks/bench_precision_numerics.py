"""Does bfloat16 change the science? `fc` in both precisions against the seed-to-seed spread.

Issue 11, item 4: the shapes `fc` model (`zoo.entry("fc")`'s sizes, `bvae_tf.models.Adam`
at the zoo's 1e-3 and epsilon 1e-8, XLA off) trained at beta 1 and 4 with 3 seeds for
`--epochs` epochs of the full training split (186,915 images, batches of 1000) in float32
and in mixed_bfloat16. For each trial: the validation losses (40,053 images, same order and
no noise every time) and the beta-VAE score (the paper's protocol at its defaults, random
state = the seed). For each beta and quantity: the mean of each precision over the seeds,
the difference of the two means, and the seed-to-seed spread (the standard deviation over
seeds, the larger of the two precisions'). bfloat16 passes where every |difference| is below
the spread.

Duration on the 2-core development machine: a trial trains 187 steps per epoch (about 60 s
in bfloat16 and 90 s in float32 per epoch when the machine is quiet), validates (about 10 s)
and scores (15 to 70 s); 12 trials at one epoch take about 30 minutes quiet, about an hour
with other jobs running.

Example:
    $ python benchmarks/bench_precision_numerics.py            # 1 epoch, 3 seeds
    $ python benchmarks/bench_precision_numerics.py --epochs 3 --seeds 0 1 2 3
    $ python benchmarks/bench_precision_numerics.py --smoke --seeds 0 1   # a minute
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from bvae_tf import speed, zoo
from bvae_tf.data import pipeline, shapes
from bvae_tf.metrics.beta_vae import beta_vae_score
from bvae_tf.models import BetaVAE

PRECISIONS = ("float32", "mixed_bfloat16")
QUANTITIES = ("val_loss", "val_reconstruction_loss", "val_kl_loss", "beta_vae")


def trial(data, beta, seed, precision, epochs, batch_size=1000, take=None, score_options=None):
    """Trains one model; returns its validation losses, beta-VAE score and seconds.

    `take` limits the training and validation images and `score_options` shrinks the
    beta-VAE score's samples: for `--smoke`, a check of the script, not a result.
    """
    start = time.perf_counter()
    model = BetaVAE(**zoo.entry("fc").model_config(), beta=beta, seed=seed, precision=precision)
    model.compile(optimizer=speed.Adam(1e-3, epsilon=1e-8), jit_compile=False)
    train = pipeline.make_dataset(data.train, batch_size=batch_size, seed=seed, take=take)
    validation = pipeline.make_dataset(data.validation, batch_size=batch_size, shuffle=False,
                                       vary_each_epoch=False, take=take)
    model.fit(train, epochs=epochs, verbose=0, shuffle=False)
    losses = model.evaluate(validation, verbose=0, return_dict=True)
    score = beta_vae_score(data, model.encode, random_state=seed,
                           **(score_options or {}))["beta_vae"]
    return {"val_loss": losses["loss"],
            "val_reconstruction_loss": losses["reconstruction_loss"],
            "val_kl_loss": losses["kl_loss"], "beta_vae": score,
            "seconds": time.perf_counter() - start}


def compare(results, beta, seeds):
    """Markdown rows: per quantity, the means, their difference, the spread, the verdict."""
    rows = []
    for quantity in QUANTITIES:
        values = {precision: np.array([results[(beta, seed, precision)][quantity]
                                       for seed in seeds]) for precision in PRECISIONS}
        difference = values["mixed_bfloat16"].mean() - values["float32"].mean()
        spread = max(values[precision].std(ddof=1) for precision in PRECISIONS)
        rows.append(f"| {beta:g} | {quantity} | {values['float32'].mean():.4f} | "
                    f"{values['mixed_bfloat16'].mean():.4f} | {difference:+.4f} | "
                    f"{spread:.4f} | {'yes' if abs(difference) < spread else 'NO'} |")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--betas", nargs="+", type=float, default=[1.0, 4.0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--smoke", action="store_true",
                        help="2,000 images and small score samples: checks the script only.")
    args = parser.parse_args(argv)
    take, score_options = (2_000, {"num_train": 2_000, "num_validation": 500,
                                   "num_test": 500}) if args.smoke else (None, None)
    print(speed.describe_machine(), f"; load average {os.getloadavg()}")
    data = shapes.load()
    results = {}
    for beta in args.betas:
        for seed in args.seeds:
            for precision in PRECISIONS:  # alternating: load drifts affect both alike
                results[(beta, seed, precision)] = result = trial(
                    data, beta, seed, precision, args.epochs, take=take,
                    score_options=score_options)
                print(f"beta {beta:g} seed {seed} {precision}: "
                      + ", ".join(f"{key} {value:.4f}" for key, value in result.items()),
                      flush=True)
    print("\n| beta | quantity | float32 | mixed_bfloat16 | difference | seed spread (std) "
          "| |difference| < spread |")
    print("|---:|---|---:|---:|---:|---:|---|")
    for beta in args.betas:
        print("\n".join(compare(results, beta, args.seeds)))
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
