"""How much training the shapes models need before Figure 1 shows the paper's curves.

Runs the trial runner of the sweeps (`bvae_tf.trial.run_trial`: train, export,
score) for one zoo entry at betas 0, 1, 4 and seeds 0, 1, under the quick profile with only
`train_fraction` and `max_epochs` changed, once per training budget, and prints each
trial's wall time, beta-VAE score, MIG and validation losses. Trials are deterministic:
the quick budget's rows equal the quick reproduction's.

Example:
    $ python benchmarks/bench_figure1_budget.py                     # BENCHMARKS.md (~20 min)
    $ python benchmarks/bench_figure1_budget.py --budgets 0.01x2    # the quick budget alone
"""

import argparse
import dataclasses
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bvae_tf import profiles, trial
from bvae_tf.data import shapes


def parse_budget(text):
    """"0.2x5" -> (0.2, 5): training fraction and epoch cap."""
    fraction, epochs = text.split("x")
    return float(fraction), int(epochs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entry", default="fc")
    parser.add_argument("--budgets", default="0.01x2,0.2x5",
                        help="Comma-separated FRACTIONxEPOCHS (default: quick, then 52x its steps).")
    parser.add_argument("--betas", default="0,1,4")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args(argv)
    data = shapes.load(cache_dir=args.cache_dir)
    quick = profiles.get_profile("quick")
    print(f"load average before: {os.getloadavg()}; cpus: {os.cpu_count()}")
    print("| entry | fraction x epochs | train steps | beta | seed | s | beta_vae | mig "
          "| val reconstruction | val KL |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for fraction, epochs in map(parse_budget, args.budgets.split(",")):
        profile = dataclasses.replace(quick, train_fraction=fraction, max_epochs=epochs)
        for beta in map(float, args.betas.split(",")):
            for seed in map(int, args.seeds.split(",")):
                with tempfile.TemporaryDirectory() as results_dir:
                    began = time.perf_counter()
                    record = trial.run_trial(trial.TrialSpec(args.entry, beta, seed),
                                             profile.settings("shapes"), results_dir, data)
                    seconds = time.perf_counter() - began
                steps = record["config"]["train_batches"] * record["epochs"]
                losses = record["losses"]["validation"]
                print(f"| {args.entry} | {fraction:g} x {epochs} | {steps:,} | {beta:g} | {seed} "
                      f"| {seconds:.0f} | {record['metrics']['beta_vae']:.3f} "
                      f"| {record['metrics']['mig']:.3f} "
                      f"| {losses['reconstruction_loss']:.1f} | {losses['kl_loss']:.1f} |",
                      flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
