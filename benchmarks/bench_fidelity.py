"""The effect of the authors' batch-norm choices (issue 14, items 1 and 2) on the numbers.

Trains the same trials twice, to early stopping by the paper's protocol, once with the
authors' choices (batch-norm momentum 0.999; early stopping on the validation loss with
batch statistics and, for denoising entries, fresh noise) and once with Keras' defaults
(momentum 0.99; the moving averages; fixed noise), and prints one table: mean and
standard deviation over seeds (ddof=1) of the epochs run, the validation reconstruction
loss and the score (SVM accuracy for MNIST, beta-VAE score and MIG for shapes) per setting.
Every other setting is the paper profile's. Records go to `--results` (resumable: rerun the
same command and finished trials are kept).

The "authors" arm is the paper profile itself, so where the zoo has a committed reference
record of the same trial (`zoo/records/`, same entry, beta, seed and fraction) trained by
the same protocol, it is taken instead of training the trial again (`--no-reference` trains
every trial). The `seeds` column says how many came from the zoo. Such a record was trained
on the machine of its session, with the XLA setting "auto" chose there; the protocol, the
split, the seeds and the scoring samples are the same.

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
ZOO = pathlib.Path(__file__).resolve().parents[1] / "zoo"
# Config fields resolved on the machine that trained a record, not chosen by the protocol.
RESOLVED_FIELDS = ("jit_compile", "learning_rate", "split_seed", "train_batches", "metrics",
                   "metric_options", "input_pipeline")


def reference_record(spec, settings, scores):
    """The zoo's record of the same trial by the same protocol, or None.

    Example:
        >>> spec = trial.TrialSpec("mnist_fc", 1.0, 0, 0.3)
        >>> paper = profiles.get_profile("paper").settings("mnist")
        >>> reference_record(spec, paper, SCORES["mnist"])["trial_name"]
        'mnist_fc-frac0.3-beta1.0-seed0'
    """
    path = results.record_path(ZOO, spec.study, spec.name)
    if not path.is_file():
        return None
    record = results.load_record(path)
    wanted = settings.to_config()
    same = all(record["config"].get(key) == value for key, value in wanted.items()
               if key not in RESOLVED_FIELDS)
    scored_alike = all(record["config"]["metric_options"].get(name)
                       == wanted["metric_options"].get(name) for name in scores)
    return record if same and scored_alike and set(scores) <= set(record["metrics"]) else None


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
    """Returns `(label, entry, fraction, beta, records, from_zoo)` rows, training as needed."""
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
                    found, from_zoo = [], 0
                    for seed in args.seeds:
                        spec = trial.TrialSpec(entry, beta, seed, fraction)
                        path = results.record_path(directory, spec.study, spec.name)
                        reference = (reference_record(spec, settings, SCORES[args.study])
                                     if label == "authors" and args.reference else None)
                        if path.is_file():
                            record = results.load_record(path)
                        elif reference is not None:
                            record = reference
                        else:
                            record = trial.run_trial(spec, settings, directory, data)
                        from_zoo += record is reference
                        found.append(record)
                    rows.append((label, entry, fraction, beta, found, from_zoo))
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
    parser.add_argument("--no-reference", dest="reference", action="store_false",
                        help="Train the authors' arm's trials that the zoo has records of too.")
    args = parser.parse_args(argv)
    args.entries = args.entries or (["mnist_fc"] if args.study == "mnist" else ["fc"])
    rows = run(args)
    print(f"CPU: {cpu_line()}; {os.cpu_count()} cores; load average {os.getloadavg()}")
    scores = SCORES[args.study]
    print("| choices | entry | fraction | beta | seeds | epochs | val. reconstruction | "
          + " | ".join(scores) + " |")
    print("|---" * (7 + len(scores)) + "|")
    for label, entry, fraction, beta, found, from_zoo in rows:
        seeds = f"{len(found)} ({from_zoo} from zoo/records)" if from_zoo else str(len(found))
        cells = [label, entry, "-" if fraction is None else f"{fraction:g}", f"{beta:g}", seeds, _cell([r["epochs"] for r in found], 1),
                 _cell([r["losses"]["validation"]["reconstruction_loss"] for r in found], 2)]
        cells += [_cell([r["metrics"][key] for r in found], 3) for key in scores]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
