"""How much training the shapes models need before Figure 1 shows the paper's trend.

Runs the trial runner of the sweeps (`bvae_tf.trial.run_trial`: train, export, score) for
each zoo entry and schedule at each beta and seed, under the quick profile with only the
schedule's fields changed, and prints one table: per entry and schedule, the seconds a
trial on this machine, the beta-VAE score and MIG per beta (mean +- sd over seeds, ddof 1)
and whether the mean score at the highest beta exceeds the mean at the lowest by more than
the larger of the two standard deviations ("rises"). Trials are deterministic: a schedule
equal to the quick profile's gives the quick reproduction's rows.

A schedule is `FRACTIONxEPOCHS`, optionally followed by `/bBATCH`, `/lrLEARNING_RATE` and
`/pPRECISION` ("float32", "mixed_bfloat16" or "auto"); unnamed fields are the quick
profile's.

Example:
    $ python benchmarks/bench_figure1_budget.py                      # BENCHMARKS.md
    $ python benchmarks/bench_figure1_budget.py --schedules 0.1x3/b100 --betas 0,4
"""

import argparse
import dataclasses
import os
import statistics
import subprocess
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bvae_tf import profiles, trial
from bvae_tf.data import shapes

SCHEDULE_FIELDS = {"b": ("batch_size", int), "lr": ("learning_rate", float),
                   "p": ("precision", str)}


def parse_schedule(text):
    """"0.2x5/b100/lr1e-3" -> the quick profile's fields it changes.

    Example:
        >>> parse_schedule("0.2x5/b100/lr1e-3")
        {'train_fraction': 0.2, 'max_epochs': 5, 'batch_size': 100, 'learning_rate': 0.001}
    """
    budget, *options = text.split("/")
    fraction, epochs = budget.split("x")
    changes = {"train_fraction": float(fraction), "max_epochs": int(epochs)}
    for option in options:
        prefix = next((key for key in sorted(SCHEDULE_FIELDS, key=len, reverse=True)
                       if option.startswith(key)), None)
        if prefix is None:
            raise ValueError(f"--schedules: unknown option {option!r} in {text!r}; "
                             f"expected one of {', '.join('/' + key for key in SCHEDULE_FIELDS)}.")
        name, kind = SCHEDULE_FIELDS[prefix]
        changes[name] = kind(option[len(prefix):])
    return changes


def mean_sd(values):
    """'mean +- sd' over seeds (ddof 1), or the single value."""
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} +- {statistics.stdev(values):.3f}"


def rises(scores, betas):
    """Whether the mean at the highest beta beats the lowest's by more than either sd."""
    low, high = scores[min(betas)], scores[max(betas)]
    if len(low) < 2 or len(high) < 2:
        return "n/a (one seed)"
    margin = statistics.mean(high) - statistics.mean(low)
    spread = max(statistics.stdev(low), statistics.stdev(high))
    return f"{'yes' if margin > spread else 'no'} ({margin:+.3f} vs sd {spread:.3f})"


def machine():
    """`lscpu`'s model name and its bfloat16/AMX/AVX-512 flags, for the table's caption."""
    lines = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    fields = dict(line.split(":", 1) for line in lines.splitlines() if ":" in line)
    flags = [flag for flag in fields.get("Flags", "").split()
             if flag.startswith(("avx512f", "avx512_bf16", "amx", "avx2"))]
    return f"{fields.get('Model name', '?').strip()}; flags {' '.join(flags)}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", default="fc")
    parser.add_argument("--schedules", default="0.01x2,0.05x3,0.1x3,0.2x5",
                        help="Comma-separated schedules (see the module docstring).")
    parser.add_argument("--betas", default="0,1,4")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args(argv)
    schedules = {text: parse_schedule(text) for text in args.schedules.split(",")}
    betas = [float(beta) for beta in args.betas.split(",")]
    seeds = [int(seed) for seed in args.seeds.split(",")]
    data = shapes.load(cache_dir=args.cache_dir)
    quick = profiles.get_profile("quick")
    print(f"machine: {machine()}; cpus {os.cpu_count()}; load average {os.getloadavg()}")
    rows = []
    for entry in args.entries.split(","):
        for text, changes in schedules.items():
            settings = dataclasses.replace(quick, **changes).settings("shapes")
            seconds, scores, migs = [], {beta: [] for beta in betas}, {beta: [] for beta in betas}
            for beta in betas:
                for seed in seeds:
                    with tempfile.TemporaryDirectory() as results_dir:
                        began = time.perf_counter()
                        record = trial.run_trial(trial.TrialSpec(entry, beta, seed), settings,
                                                 results_dir, data)
                        seconds.append(time.perf_counter() - began)
                    scores[beta].append(record["metrics"]["beta_vae"])
                    migs[beta].append(record["metrics"]["mig"])
                    print(f"  {entry} {text} beta {beta:g} seed {seed}: {seconds[-1]:.0f} s, "
                          f"{record['epochs']} epochs of {record['config']['train_batches']} "
                          f"steps, beta_vae {scores[beta][-1]:.3f}, mig {migs[beta][-1]:.3f}",
                          flush=True)
            rows.append((entry, text, statistics.median(seconds), scores, migs))
    print(f"load average after: {os.getloadavg()}")
    print("| entry | schedule | s a trial (median) | beta-VAE score per beta | "
          "MIG per beta | rises |")
    print("|---|---|---:|---|---|---|")
    for entry, text, seconds, scores, migs in rows:
        per_beta = " / ".join(mean_sd(scores[beta]) for beta in betas)
        per_beta_mig = " / ".join(mean_sd(migs[beta]) for beta in betas)
        print(f"| {entry} | {text} | {seconds:.0f} | {per_beta} | {per_beta_mig} "
              f"| {rises(scores, betas)} |")


if __name__ == "__main__":
    main()
