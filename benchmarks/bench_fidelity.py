"""The effect of the authors' batch-norm choices (issue 14, items 1 and 2) on the numbers.

Trains the same trials twice, to early stopping by the paper's protocol, once with the
authors' choices (batch-norm momentum 0.999; early stopping on the validation loss with
batch statistics and, for denoising entries, fresh noise) and once with Keras' defaults
(momentum 0.99; the moving averages; fixed noise), and prints one table: mean and
standard deviation over seeds (ddof=1) of the epochs run, the validation reconstruction
loss and the score (SVM accuracy for MNIST, beta-VAE score and MIG for shapes) per setting.
Every other setting is the paper profile's. Records go to `--results` (resumable: rerun the
same command and finished trials are kept).

Example:
    $ python benchmarks/bench_fidelity.py --study mnist --fractions 0.1 0.3 --seeds 0 1 2
    $ python benchmarks/bench_fidelity.py --study shapes --entries fc --betas 4 --seeds 0 1 2
"""

import argparse
import dataclasses
import os
import pathlib
import platform
import subprocess

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from bvae_tf import inputs, profiles, results, trial

CHOICES = {
    "authors": {"batch_norm_momentum": 0.999, "validation_statistics": "batch_statistics",
                "validation_noise": "fresh"},
    "keras": {"batch_norm_momentum": 0.99, "validation_statistics": "moving_averages",
              "validation_noise": "fixed"},
}
SCORES = {"mnist": ("svm_accuracy",), "shapes": ("beta_vae", "mig")}


def cpu_line():
    """The CPU model and its bfloat16/AMX flags, from lscpu."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor()
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    flags = [flag for flag in fields.get("Flags", "").split() if "bf16" in flag or "amx" in flag]
    return f"{fields.get('Model name', '?').strip()}, flags {' '.join(flags) or 'none'}"


def run(args):
    paper = profiles.get_profile("paper")
    data = inputs.load_data(args.study, args.cache_dir, args.mnist)
    rows = []
    for label, choices in CHOICES.items():
        settings = dataclasses.replace(paper.settings(args.study), **choices,
                                       metrics=("beta_vae", "mig") if args.study == "shapes"
                                       else ())
        directory = pathlib.Path(args.results) / label
        for entry in args.entries:
            for fraction in args.fractions if args.study == "mnist" else (None,):
                for beta in args.betas:
                    found = []
                    for seed in args.seeds:
                        spec = trial.TrialSpec(entry, beta, seed, fraction)
                        path = results.record_path(directory, spec.study, spec.name)
                        record = (results.load_record(path) if path.is_file() else
                                  trial.run_trial(spec, settings, directory, data))
                        found.append(record)
                    rows.append((label, entry, fraction, beta, found))
    return rows


def _cell(values, decimals):
    values = np.asarray(values, dtype=float)
    spread = np.std(values, ddof=1) if len(values) > 1 else float("nan")
    return f"{values.mean():.{decimals}f} ± {spread:.{decimals}f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", choices=("mnist", "shapes"), default="mnist")
    parser.add_argument("--entries", nargs="+", default=None)
    parser.add_argument("--fractions", nargs="+", type=float, default=[0.1, 0.3])
    parser.add_argument("--betas", nargs="+", type=float, default=[0.0, 1.0, 4.0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--results", default="runs/fidelity")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--mnist", default=None)
    args = parser.parse_args(argv)
    args.entries = args.entries or (["mnist_fc"] if args.study == "mnist" else ["fc"])
    rows = run(args)
    print(f"CPU: {cpu_line()}; {os.cpu_count()} cores; load average {os.getloadavg()}")
    scores = SCORES[args.study]
    print("| choices | entry | fraction | beta | seeds | epochs | val. reconstruction | "
          + " | ".join(scores) + " |")
    print("|---" * (7 + len(scores)) + "|")
    for label, entry, fraction, beta, found in rows:
        cells = [label, entry, "-" if fraction is None else f"{fraction:g}", f"{beta:g}",
                 str(len(found)), _cell([r["epochs"] for r in found], 1),
                 _cell([r["losses"]["validation"]["reconstruction_loss"] for r in found], 2)]
        cells += [_cell([r["metrics"][key] for r in found], 3) for key in scores]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
