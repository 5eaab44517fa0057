"""The `bvae-tf` command line: parses flags and hands over to the library.

Each subcommand is a pair: `_add_<name>(subparsers)` declares its flags and
`_run_<name>(args)` calls the library. Imports are local so that `bvae-tf --help` is fast.

Example:
    $ bvae-tf data --cache-dir /tmp/shapes
    $ bvae-tf train --model conv_denoising --beta 4 --seed 0 --out runs/conv4
"""

import argparse
import sys


def _add_data(subparsers):
    parser = subparsers.add_parser("data", help="Build or verify the shapes dataset cache.")
    parser.add_argument("--cache-dir", default=None, help="Cache directory (default: "
                        "$BVAE_TF_CACHE or the user cache dir).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the subsample and split.")
    parser.add_argument("--show", type=int, default=0, metavar="N",
                        help="Also write a labelled mosaic of N random images to --out.")
    parser.add_argument("--out", default="samples.png", help="Mosaic path (with --show).")


def _run_data(args):
    import time

    from bvae_tf.data import cache, shapes, summary

    start = time.perf_counter()
    bar = summary.LazyProgressBar(total=1080, desc="Rendering shapes bases", unit="base")
    try:
        directory, status = shapes.ensure_cache(args.cache_dir, progress=bar)
    finally:
        bar.close()
    packed_grid, index, _ = cache.read(directory)
    data = shapes.ShapesData(packed_grid, index, seed=args.seed, path=directory)
    print("\n".join(summary.report_lines(data, status, time.perf_counter() - start)))
    if args.show:
        summary.save_mosaic(data, args.show, args.out, random_state=args.seed)
        print(f"wrote a mosaic of {args.show} training images to {args.out}")


def _add_train(subparsers):
    parser = subparsers.add_parser(
        "train", help="Train one zoo entry as the paper did; write model, encoder, history."
    )
    parser.add_argument("--model", required=True, help="Zoo entry: fc, conv, fc_denoising, "
                        "conv_denoising, mnist_fc or mnist_conv.")
    parser.add_argument("--beta", type=float, required=True, help="Weight of the KL term.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of model and pipelines.")
    parser.add_argument("--out", required=True, help="Output directory: model.keras, "
                        "saved_model/<model>/1/, history.json, logs/.")
    parser.add_argument("--max-epochs", type=int, default=None,
                        help="Epoch cap (default: none; early stopping ends training).")
    parser.add_argument("--train-fraction", type=float, default=None,
                        help="Train on this fraction (shapes: of the split; MNIST: of "
                        "every class). Default: all.")
    parser.add_argument("--validation-size", type=int, default=None,
                        help="Validate on the first N validation images (default: the "
                        "paper's 40,000 for shapes, 5,000 for MNIST).")
    parser.add_argument("--cache-dir", default=None, help="Shapes cache directory (default: "
                        "$BVAE_TF_CACHE or the user cache dir).")


def _run_train(args):
    from bvae_tf import training
    from bvae_tf.experiments import train

    try:
        summary = train.run(
            args.model, args.beta, args.seed, args.out, max_epochs=args.max_epochs,
            train_fraction=args.train_fraction, cache_dir=args.cache_dir,
            validation_size=args.validation_size,
        )
    except training.NaNLossError as error:
        print(f"bvae-tf train: error: {error}", file=sys.stderr)
        return 3
    print(f"Trained {args.model} (beta={args.beta}, seed={args.seed}) for "
          f"{summary['epochs']} epochs, best epoch {summary['best_epoch']}; wrote {args.out}")
    return 0


def _add_report(subparsers):
    parser = subparsers.add_parser(
        "report", help="Figures 1 and 2, tables, reconstructions, traversals and report.md "
        "of a results directory."
    )
    parser.add_argument("--results", required=True, help="Results directory of a sweep.")
    parser.add_argument("--out", default=None, help="Output directory (default: "
                        "<results>/report/).")
    parser.add_argument("--trials", nargs="+", default=None, metavar="NAME",
                        help="Trials whose reconstructions and traversals are drawn "
                        "(default: per entry, the lowest and highest beta at seed 0).")
    parser.add_argument("--seed", type=int, default=0, help="Seed drawing the test images.")
    parser.add_argument("--cache-dir", default=None, help="Shapes cache directory (default: "
                        "$BVAE_TF_CACHE or the user cache dir).")
    parser.add_argument("--mnist", default=None, metavar="PATH",
                        help="mnist.npz (default: $BVAE_TF_MNIST or the Keras cache).")


def _run_report(args):
    from bvae_tf.reports import write_report

    path = write_report(args.results, args.out, chosen=args.trials, seed=args.seed,
                        shapes_cache_dir=args.cache_dir, mnist_path=args.mnist)
    print(f"wrote {path}")


def _add_sweep(subparsers):
    parser = subparsers.add_parser(
        "sweep", help="Run or resume a beta sweep with keras-tuner (local, chief or worker)."
    )
    parser.add_argument("--study", choices=("shapes", "mnist"), default="shapes",
                        help="Which study to sweep (default: shapes).")
    _add_sweep_arguments(parser)


def _add_mnist(subparsers):
    parser = subparsers.add_parser(
        "mnist", help="The MNIST experiment: its beta sweep (= sweep --study mnist)."
    )
    parser.set_defaults(study="mnist")
    _add_sweep_arguments(parser)


def _add_sweep_arguments(parser):
    parser.add_argument("--profile", default="quick", help="quick, paper or the path of a .py "
                        "file defining PROFILE (default: quick).")
    parser.add_argument("--entries", default=None, help="Comma-separated zoo entries "
                        "(default: the profile's for the study).")
    parser.add_argument("--betas", nargs="+", default=None, help="KL weights, e.g. 0 1 4 or "
                        "0,1,4 (default: the profile's).")
    parser.add_argument("--seeds", nargs="+", default=None, help="Seeds (default: the "
                        "profile's).")
    parser.add_argument("--fractions", nargs="+", default=None, help="MNIST training "
                        "fractions (default: the profile's).")
    parser.add_argument("--out", required=True, help="Results directory (rerun the same "
                        "command to resume).")
    parser.add_argument("--role", choices=("local", "chief", "worker"), default="local",
                        help="local: run every trial here; chief: serve the keras-tuner "
                        "oracle; worker: take trials from the chief.")
    parser.add_argument("--oracle", default="127.0.0.1:8000", metavar="HOST:PORT",
                        help="Address of the chief (entry i of the sweep uses PORT + i).")
    parser.add_argument("--connect-timeout", type=float, default=60.0, metavar="SECONDS",
                        help="How long a worker waits for the chief (default: 60).")
    parser.add_argument("--cache-dir", default=None, help="Shapes cache directory (default: "
                        "$BVAE_TF_CACHE or the user cache dir).")
    parser.add_argument("--mnist", default=None, metavar="PATH",
                        help="mnist.npz (default: $BVAE_TF_MNIST or the Keras cache).")
    parser.add_argument("--quiet", action="store_true", help="No progress bar.")


def _numbers(values, kind):
    if values is None:
        return None
    items = [item for value in values for item in value.split(",") if item.strip()]
    try:
        return [kind(item) for item in items]
    except ValueError:
        raise ValueError(f"Expected {kind.__name__} values, got {values}.") from None


def _run_sweep(args):
    from bvae_tf import tuning

    try:
        summary = tuning.run_sweep(
            args.profile, args.study, args.out, role=args.role, oracle=args.oracle,
            entries=None if args.entries is None else args.entries.split(","),
            betas=_numbers(args.betas, float), seeds=_numbers(args.seeds, int),
            fractions=_numbers(args.fractions, float), cache_dir=args.cache_dir,
            mnist_path=args.mnist, connect_timeout=args.connect_timeout,
            verbose=0 if args.quiet else 1,
        )
    except TimeoutError as error:
        print(f"bvae-tf sweep: error: {error}", file=sys.stderr)
        return 3
    print(f"{summary['completed']} of {summary['total']} trials of the {args.study} sweep "
          f"have records in {args.out}")
    if summary["missing"]:
        print(f"bvae-tf sweep: {len(summary['missing'])} trials failed: "
              f"{', '.join(summary['missing'])}; rerun the command to retry them.",
              file=sys.stderr)
        return 1
    return 0


def _add_results(subparsers):
    parser = subparsers.add_parser("results", help="Print the records of a results directory "
                                   "as one table.")
    parser.add_argument("results", metavar="DIR", help="Results directory of a sweep.")
    parser.add_argument("--study", choices=("shapes", "mnist"), default=None,
                        help="Only this study (default: both).")
    parser.add_argument("--csv", default=None, metavar="OUT", help="Also write the table as "
                        "CSV to OUT.")


def _run_results(args):
    from bvae_tf import results

    rows = results.records_table(results.read_records(args.results, study=args.study))
    print(results.format_table(rows))
    if args.csv:
        results.write_csv(rows, args.csv)
        print(f"wrote {len(rows)} rows to {args.csv}")


def _add_metric(subparsers):
    parser = subparsers.add_parser(
        "metric", help="Disentanglement metrics of an exported encoder on the shapes grid."
    )
    parser.add_argument("--encoder", required=True, metavar="PATH", help="Exported encoder: "
                        "<dir>/<name>/<version> or <dir>/<name> (its latest version).")
    parser.add_argument("--metrics", default="beta_vae,factor_vae,mig,dci,sap",
                        help="Comma-separated metrics (default: all five).")
    parser.add_argument("--protocol", choices=("peychev2017", "higgins2017"),
                        default="peychev2017", help="beta-VAE score protocol (default: the "
                        "paper's, peychev2017).")
    parser.add_argument("--dci-importance", choices=("gradient_boosting", "random_forest"),
                        default="gradient_boosting", help="DCI importance model (default: "
                        "disentanglement_lib's gradient boosting; random_forest is faster).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the metrics' sampling.")
    parser.add_argument("--cache-dir", default=None, help="Shapes cache directory (default: "
                        "$BVAE_TF_CACHE or the user cache dir).")
    parser.add_argument("--json", default=None, metavar="OUT",
                        help="Also write the scores as JSON to OUT (atomically).")


def _run_metric(args):
    from bvae_tf import export, metrics, results
    from bvae_tf.data import shapes

    names = metrics.parse_names(args.metrics)
    options = {"protocol": args.protocol} if "beta_vae" in names else {}
    if "dci" in names:
        options["dci"] = {"importance_model": args.dci_importance}
    encoder = export.load_encoder(args.encoder)
    data = shapes.load(cache_dir=args.cache_dir)
    scores = metrics.compute(names, data, encoder, args.seed, **options)
    width = max(map(len, scores))
    print("\n".join(f"{key:<{width}}  {value:.4f}" for key, value in scores.items()))
    if args.json:
        results.atomic_write_json(args.json, {
            "encoder": str(encoder.path), "metrics": names, "seed": args.seed,
            "protocol": args.protocol, "dci_importance": args.dci_importance, "scores": scores,
        })
        print(f"wrote {args.json}")


def _add_reproduce(subparsers):
    parser = subparsers.add_parser(
        "reproduce", help="The whole paper: data, shapes and MNIST sweeps, report (resumable)."
    )
    parser.add_argument("--profile", default="quick", help="quick (minutes on a CPU, the "
                        "default), paper (the full protocol), or a .py file defining PROFILE.")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="Results directory (default: results/<profile>).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the shapes split.")
    parser.add_argument("--cache-dir", default=None, help="Shapes cache directory (default: "
                        "$BVAE_TF_CACHE or the user cache dir).")
    parser.add_argument("--mnist", default=None, metavar="NPZ", help="mnist.npz (default: "
                        "$BVAE_TF_MNIST or the Keras cache).")
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))


def _run_reproduce(args):
    import pathlib

    from bvae_tf.experiments import reproduce

    out = args.out or pathlib.Path("results") / pathlib.Path(args.profile).stem
    report = reproduce.reproduce(args.profile, out, cache_dir=args.cache_dir,
                                 mnist_path=args.mnist, seed=args.seed, verbose=args.verbose)
    print(f"report: {report}")


def _add_serving_config(subparsers):
    parser = subparsers.add_parser(
        "serving-config", help="Write models.config for tensorflow_model_server.")
    parser.add_argument("root", nargs="?", default="saved_models", metavar="DIR",
                        help="Folder of exported encoders (default: saved_models).")
    parser.add_argument("--base-path", default=None, help="Where the server sees DIR, e.g. "
                        "/models in the TF Serving container (default: DIR's absolute path).")


def _run_serving_config(args):
    from bvae_tf import serving

    path = serving.write_model_config(args.root, base_path=args.base_path)
    print(f"wrote {path} ({len(serving.find_servables(args.root))} servables)")


COMMANDS = {
    "data": (_add_data, _run_data),
    "metric": (_add_metric, _run_metric),
    "train": (_add_train, _run_train),
    "report": (_add_report, _run_report),
    "sweep": (_add_sweep, _run_sweep),
    "mnist": (_add_mnist, _run_sweep),
    "results": (_add_results, _run_results),
    "reproduce": (_add_reproduce, _run_reproduce),
    "serving-config": (_add_serving_config, _run_serving_config),
}


def build_parser():
    """Returns the argument parser of `bvae-tf` with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="bvae-tf",
        description="beta-VAE model zoo: data, training, metrics, sweeps and reports.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for add, _ in COMMANDS.values():
        add(subparsers)
    return parser


def main(argv=None):
    """Entry point of the `bvae-tf` console script."""
    args = build_parser().parse_args(argv)
    _, run = COMMANDS[args.command]
    try:
        return run(args) or 0
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        print(f"bvae-tf {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
