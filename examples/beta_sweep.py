"""A beta sweep with keras-tuner, then its records as a table and the paper's Figure 1.

    python examples/beta_sweep.py --results runs/sweep           # fc, beta 0..5 by 1, 3 seeds
    python examples/beta_sweep.py --results runs/sweep --quick   # minutes: 2 betas, 1 seed

The sweep is resumable: run the same command again and finished trials are skipped. To spread
it over machines, see `bvae-tf sweep --role chief|worker` in the README.
"""

import argparse
import dataclasses

from bvae_tf import profiles, reports, results, tuning


def sweep_profile(quick):
    """The quick profile, narrowed to one zoo entry (and, with `quick`, to tiny caps)."""
    profile = profiles.get_profile("quick")
    if not quick:
        return dataclasses.replace(profile, name="example", shapes_entries=("fc",),
                                   shapes_betas=(0.0, 1.0, 2.0, 3.0, 4.0, 5.0),
                                   shapes_seeds=(0, 1, 2))
    return dataclasses.replace(
        profile, name="example-quick", shapes_entries=("fc",), shapes_betas=(0.0, 4.0),
        shapes_seeds=(0,), max_epochs=1, train_fraction=0.01, validation_size=1_000,
        metrics=("beta_vae", "mig"),
        metric_options={"beta_vae": {"num_train": 1_000, "num_validation": 300,
                                     "num_test": 300},
                        "mig": {"num_train": 2_000}},
    )


def main(results_dir, quick=False):
    summary = tuning.run_sweep(sweep_profile(quick), "shapes", results_dir)
    print(f"{summary['completed']} of {summary['total']} trials done")
    print(results.format_table(results.records_table(results.read_records(results_dir, "shapes"))))
    report = reports.write_report(results_dir)
    print(f"wrote {report} and {report.parent / 'figure1.png'}")
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="runs/beta_sweep", help="Results directory.")
    parser.add_argument("--quick", action="store_true", help="2 betas, 1 seed, tiny caps.")
    arguments = parser.parse_args()
    main(arguments.results, arguments.quick)
