"""What the paper profile costs: epochs, seconds an epoch and scoring seconds, and the grid.

From reference records (default: the committed `zoo/records/`, written by the paper profile
to early stopping), one table per study:

- per entry (and MNIST fraction): the reference trials, their epochs to early stopping (mean,
  min-max over betas and seeds), training seconds an epoch, and the seconds after training
  (the sum of the record's `scoring_s`, each metric's seconds beside it; records from before
  `scoring_s`: their wall time less their training time, saving and exporting included);
- the paper profile's grid (`bvae_tf.profiles.get_profile("paper")`): trials per entry and
  the projected hours on the machine that trained the records: each trial at the entry's
  mean epochs x seconds an epoch + seconds after training;
- the training FLOPs of one such trial (3 x the forward FLOPs of every training image, once
  the forward FLOPs of every validation image, per epoch; counted from the layer sizes by
  `bench_train.forward_flops_per_image`) and the hours at `--gpu-tflops` effective TFLOP/s,
  a rate given, not measured (no GPU here), or, for shapes, where `--shapes-input-rate`
  (images a second that its input pipeline delivers, `bench_pipeline.py`) is the slower,
  at that rate.

Entries without a reference record are projected from a recorded entry of the same study
and architecture family: the same epochs, and seconds an epoch scaled by the images per
second that `bench_train.compare` measures for both architectures in one run, float32,
the faster XLA setting (`--no-probe` leaves them out). Seconds come from the trials that ran
in one process (not resumed) where there are any. MNIST fractions without a record are
projected from the two nearest recorded fractions (linear in the fraction). The projections
assume the grid's mean epochs equal the mean over the recorded betas; the table says from
which records each row comes.

Example:
    $ python benchmarks/paper_cost.py                      # zoo/records, the tables of BENCHMARKS.md
    $ python benchmarks/paper_cost.py --records runs/reference-shapes --no-probe
"""

import argparse
import collections
import os
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_train import TRAINING_FLOPS_PER_FORWARD, _load, _lscpu

from bvae_tf import profiles, results, zoo

DEFAULT_VALIDATION = {"shapes": 40_000, "mnist": 5_000}  # the paper's, docs/protocol.md


def entry_costs(records):
    """Per (entry, fraction): trials, epochs, seconds an epoch, seconds after training."""
    groups = collections.defaultdict(list)
    for record in records:
        if record.get("early_stopped"):
            groups[(record["entry"], record.get("fraction"))].append(record)
    costs = {}
    for key, group in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1] or 0)):
        # A resumed trial's wall time is its last process's; its training time may be too
        # (records before December 2, 2026): time from the trials that ran in one go.
        whole = [r for r in group if r.get("resumed_from_epoch") is None] or group
        scoring = collections.defaultdict(list)
        for record in group:
            for name, seconds in record.get("scoring_s", {}).items():
                scoring[name].append(seconds)
        costs[key] = {
            "trials": len(group),
            "epochs": statistics.mean(record["epochs"] for record in group),
            "epochs_range": (min(r["epochs"] for r in group), max(r["epochs"] for r in group)),
            "s_per_epoch": statistics.mean(r["training_s"] / r["epochs"] for r in whole),
            "after_training_s": statistics.mean(_after_training_s(r) for r in whole),
            "scoring_s": {name: statistics.mean(values) for name, values in scoring.items()},
            "train_images": statistics.mean(r["config"]["train_batches"] * r["config"]["batch_size"]
                                            for r in group),
            "source": "records",
        }
    return costs


def _after_training_s(record):
    """Seconds of scoring (`scoring_s`), or, in older records of one process, all after training."""
    if "scoring_s" in record:
        return sum(record["scoring_s"].values())
    return record["wall_time_s"] - record["training_s"]


def forward_flops(name):
    """Forward FLOPs of one image through the zoo entry's encoder and decoder."""
    from bench_train import forward_flops_per_image

    return forward_flops_per_image(zoo.build(name, 1.0, precision="float32", jit_compile=False))


def measured_rates(architectures, seconds):
    """Training images/s of each architecture at batch 1000 in float32, best XLA setting."""
    from bench_train import compare

    rates = {}
    for architecture in architectures:
        found, _ = compare(architecture, 1000, seconds, 3, with_torch=False)
        rates[architecture] = max(statistics.median(rate for rate, _ in found[name])
                                  for name in found if "float32" in name)
    return rates


def fill_missing(costs, profile, study, rates):
    """Adds projected costs for the grid's (entry, fraction)s without records; returns costs."""
    grid_entries = profile.shapes_entries if study == "shapes" else profile.mnist_entries
    fractions = (None,) if study == "shapes" else profile.mnist_fractions
    for entry in grid_entries:
        for fraction in fractions:
            if (entry, fraction) in costs:
                continue
            same_entry = sorted(f for (e, f) in costs if e == entry and f is not None)
            if fraction is not None and len(same_entry) >= 2:
                low = max((f for f in same_entry if f < fraction), default=same_entry[0])
                high = min((f for f in same_entry if f > fraction), default=same_entry[-1])
                weight = 0.0 if high == low else (fraction - low) / (high - low)
                a, b = costs[(entry, low)], costs[(entry, high)]
                costs[(entry, fraction)] = {
                    **{key: a[key] + weight * (b[key] - a[key]) for key in
                       ("epochs", "s_per_epoch", "after_training_s", "train_images")},
                    "trials": 0, "epochs_range": None, "scoring_s": {},
                    "source": f"fractions {low:g} and {high:g}"}
                continue
            architecture = zoo.entry(entry).architecture
            donors = [key for key in costs if costs[key]["source"] == "records"
                      and zoo.entry(key[0]).dataset == study and key[1] == fraction]
            if not donors or rates is None:
                continue
            donor = min(donors, key=lambda key: zoo.entry(key[0]).architecture != architecture)
            donor_architecture = zoo.entry(donor[0]).architecture
            scale = rates[donor_architecture] / rates[architecture]
            costs[(entry, fraction)] = {
                **costs[donor], "trials": 0, "epochs_range": None,
                "s_per_epoch": costs[donor]["s_per_epoch"] * scale,
                "source": f"{donor[0]}'s records" + (f", x{scale:.2f} measured images/s"
                                                     if scale != 1 else "")}
    return costs


def study_table(study, costs, profile, gpu_tflops, input_rate=None):
    grid = profile.grid(study)
    per_cell = {(entry, fraction): len(grid["betas"]) * len(grid["seeds"])
                for entry in grid["entries"] for fraction in grid["fractions"]}
    validation = DEFAULT_VALIDATION[study]
    lines = [f"### {study}: {sum(per_cell.values())} trials in the paper profile's grid", "",
             "| entry | fraction | from | reference trials | epochs (range) | s an epoch "
             "| s scoring | of which | grid trials | hours on this machine "
             f"| training TFLOP a trial | GPU hours at {gpu_tflops:g} TFLOP/s"
             + (f" or {input_rate:,.0f} images/s |" if input_rate else " |"),
             "|---|---|---|---:|---|---:|---:|---|---:|---:|---:|---:|"]
    total_hours = total_gpu_hours = 0.0
    flops_cache = {}
    for (entry, fraction), count in sorted(per_cell.items(), key=lambda x: (x[0][0], x[0][1] or 0)):
        cost = costs.get((entry, fraction))
        if cost is None:
            lines.append(f"| {entry} | {fraction or '-'} | no record | 0 | - | - | - | - | "
                         f"{count} | - | - | - |")
            continue
        if entry not in flops_cache:
            flops_cache[entry] = forward_flops(entry)
        per_epoch = flops_cache[entry] * (TRAINING_FLOPS_PER_FORWARD * cost["train_images"]
                                          + validation)
        trial_flops = per_epoch * cost["epochs"]
        trial_s = cost["epochs"] * cost["s_per_epoch"] + cost["after_training_s"]
        hours = count * trial_s / 3600
        images = cost["epochs"] * (cost["train_images"] + validation)
        gpu_s = max(trial_flops / (gpu_tflops * 1e12), images / input_rate if input_rate else 0)
        gpu_hours = count * gpu_s / 3600
        total_hours += hours
        total_gpu_hours += gpu_hours
        scoring = ", ".join(f"{name} {seconds:.0f}" for name, seconds in
                            cost["scoring_s"].items()) or "-"
        spread = ("" if cost["epochs_range"] is None
                  else f" ({cost['epochs_range'][0]}-{cost['epochs_range'][1]})")
        lines.append(f"| {entry} | {'-' if fraction is None else f'{fraction:g}'} | "
                     f"{cost['source']} | {cost['trials']} | {cost['epochs']:.0f}{spread} | "
                     f"{cost['s_per_epoch']:.1f} | {cost['after_training_s']:.0f} | {scoring} | "
                     f"{count} | {hours:,.0f} | {trial_flops / 1e12:,.1f} | {gpu_hours:.2f} |")
    lines += [(f"| all | | | | | | | | {sum(per_cell.values())} | {total_hours:,.0f} | | "
              f"{total_gpu_hours:.2f} |"), ""]
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", default="zoo", help="Results directory whose records/ "
                        "are read (default: zoo, the committed reference records).")
    parser.add_argument("--gpu-tflops", type=float, default=100.0, help="Effective training "
                        "TFLOP/s of the GPU projection (an assumption; default 100).")
    parser.add_argument("--shapes-input-rate", type=float, default=None, help="Images a second "
                        "the shapes input pipeline feeds (bench_pipeline.py); bounds the shapes "
                        "study's GPU hours.")
    parser.add_argument("--probe-seconds", type=float, default=12.0, help="Timed seconds per "
                        "configuration of the architecture probe (default 12).")
    parser.add_argument("--no-probe", action="store_true", help="Do not measure images/s; "
                        "entries without records of their own architecture stay unprojected.")
    args = parser.parse_args(argv)
    records = results.read_records(args.records)
    profile = profiles.get_profile("paper")
    machines = sorted({f"{r['machine']['cpu']} ({r['machine']['cores']} cores)"
                       for r in records if "machine" in r})
    print(f"{len(records)} records from {args.records}; trained on: {', '.join(machines)}")
    print(f"this machine: {_lscpu()}; load average {_load()}")
    costs = entry_costs(records)
    architectures = {zoo.entry(name).architecture for name in profile.shapes_entries}
    needs_rates = any((name, None) not in costs for name in profile.shapes_entries)
    rates = (measured_rates(sorted(architectures), args.probe_seconds)
             if needs_rates and not args.no_probe else None)
    if rates:
        print("images/s at batch 1000, float32, best XLA setting, this machine now: "
              + ", ".join(f"{name} {rate:,.0f}" for name, rate in rates.items()))
    print()
    for study in ("shapes", "mnist"):
        print("\n".join(study_table(study, fill_missing(costs, profile, study, rates),
                                    profile, args.gpu_tflops,
                                    args.shapes_input_rate if study == "shapes" else None)))


if __name__ == "__main__":
    main()
