"""The `bvae-tf` command line: parses flags and hands over to the library.

Each subcommand is a pair: `_add_<name>(subparsers)` declares its flags and
`_run_<name>(args)` calls the library. Imports are local so that `bvae-tf --help` is fast.
Flags mean one thing everywhere: `--results DIR` is the results directory of every
subcommand that writes or reads one; `--cache-dir` and `--mnist` are the datasets' files.
Values are checked while parsing, so a bad one stops the command before any work.

Example:
    $ bvae-tf data --cache-dir /tmp/shapes
    $ bvae-tf train --model conv_denoising --beta 4 --seed 0 --results runs/conv4
"""

import argparse
import math
import os
import pathlib
import sys
import tempfile

from bvae_tf import zoo  # the table only: TensorFlow is imported when a model is built


def _integer(low, high=None):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f">= {low}" if high is None else f"from {low} to {high}"
            raise argparse.ArgumentTypeError(f"must be an integer {bound}, got {value}")
        return value

    return parse


def _number(low, high, low_open=False):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or value < low or value > high or (
                low_open and value == low):
            interval = f"{'(' if low_open else '['}{low:g}, {high:g}]"
            raise argparse.ArgumentTypeError(f"must be a finite number in {interval}, "
                                             f"got {text}")
        return value

    return parse


SEED = _integer(0, 2**32 - 1)


def _dataset_parents():
    """Returns the parsers declaring `--cache-dir` (shapes) and `--mnist`, once each."""
    shapes = argparse.ArgumentParser(add_help=False)
    shapes.add_argument("--cache-dir", default=None, help="Shapes cache directory (default: "
                        "$BVAE_TF_CACHE or the user cache dir).")
    mnist = argparse.ArgumentParser(add_help=False)
    mnist.add_argument("--mnist", default=None, metavar="NPZ", help="mnist.npz (default: "
                       "$BVAE_TF_MNIST or the Keras cache).")
    return {"shapes": [shapes], "mnist": [mnist], "both": [shapes, mnist], "none": []}


def _results_argument(parser, required=True, help_text="Results directory."):
    parser.add_argument("--results", required=required, default=None, metavar="DIR",
                        help=help_text)


def _add_data(subparsers, parents):
    parser = subparsers.add_parser("data", parents=parents,
                                   help="Build or verify the shapes dataset cache.")
    parser.add_argument("--seed", type=SEED, default=0, help="Seed of the shapes subsample "
                        "and of the train/validation/test split (default: 0).")
    parser.add_argument("--show", type=_integer(1), default=None, metavar="N",
                        help="Also write a labelled mosaic of N random training images.")
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
        if args.show > len(data.train):
            raise ValueError(f"--show {args.show} is more than the {len(data.train)} training "
                             "images; give at most that many.")
        summary.save_mosaic(data, args.show, args.out, random_state=args.seed)
        print(f"wrote a mosaic of {args.show} training images to {args.out}")


def _add_train(subparsers, parents):
    parser = subparsers.add_parser(
        "train", parents=parents, help="Train one zoo entry as the paper did: the sweeps' "
        "trial runner on one point (model, encoder, record, scores).")
    parser.add_argument("--model", required=True, choices=zoo.NAMES + zoo.OBJECTIVE_NAMES,
                        help="Zoo entry: the paper's, or one of the other objectives "
                        "(zoo/objectives.md) with its defaults.")
    parser.add_argument("--beta", type=_number(0, 1e6), required=True,
                        help="Weight of the KL term (AnnealedVAE: of |KL - C|), from 0 to 1e6.")
    parser.add_argument("--seed", type=SEED, default=0, help="Seed of the model's "
                        "initialisation, the epoch orders, the noise, the MNIST subset and the "
                        "scores' sampling (default: 0).")
    _results_argument(parser, help_text="Results directory: models/, saved_models/, "
                      "records/ (the sweeps' layout).")
    parser.add_argument("--max-epochs", type=_integer(1), default=None,
                        help="Epoch cap (default: none; early stopping ends training).")
    parser.add_argument("--train-fraction", type=_number(0, 1, low_open=True), default=None,
                        help="Train on this fraction (shapes: of the split; MNIST: of "
                        "every class). Default: all.")
    parser.add_argument("--validation-size", type=_integer(1), default=None,
                        help="Validate on the first N validation images (default: the "
                        "paper's 40,000 for shapes, 5,000 for MNIST).")
    parser.add_argument("--metrics", default="", help="Shapes: comma-separated metrics of "
                        "the exported encoder (default: none). MNIST trials always score "
                        "the SVM.")
    parser.add_argument("--save-every", type=_number(0, 1e6), default=30.0, metavar="SECONDS",
                        help="Save the state a killed run resumes from after an epoch that "
                        "ends at least this long after the last save (default: 30; 0: every "
                        "epoch).")
    _add_speed_arguments(parser)


def _add_speed_arguments(parser):
    parser.add_argument("--precision", choices=("auto", "float32", "mixed_bfloat16"),
                        default="auto", help="auto (default): the faster on this machine, "
                        "bfloat16 only where the hardware has it (see `bvae-tf speed`).")
    parser.add_argument("--jit-compile", choices=("auto", "true", "false"), default="auto",
                        help="XLA: auto (default) where it measured faster on this machine.")
    parser.add_argument("--input-pipeline", choices=("auto", "host", "device"),
                        default="auto", help="Where batches are drawn: host (tf.data on the "
                        "CPU), device (the split in device memory, drawn inside the step) or "
                        "auto (default: device when TensorFlow sees a GPU).")


def _jit_compile(text):
    return text if text == "auto" else text == "true"


def _run_train(args):
    from bvae_tf import metrics, profiles, training, trial, zoo

    mnist = zoo.entry(args.model).dataset == "mnist"
    spec = trial.TrialSpec(args.model, args.beta, args.seed,
                           (args.train_fraction or 1.0) if mnist else None)
    chosen = metrics.parse_names(args.metrics) if args.metrics and not mnist else ()
    settings = profiles.TrialSettings(
        max_epochs=args.max_epochs, train_fraction=None if mnist else args.train_fraction,
        validation_size=args.validation_size, metrics=tuple(chosen), precision=args.precision,
        jit_compile=_jit_compile(args.jit_compile), input_pipeline=args.input_pipeline)
    _check_writable_dir(args.results, "--results")
    try:
        record = trial.run_trial(spec, settings, args.results, cache_dir=args.cache_dir,
                                 mnist_path=args.mnist, verbose="auto",
                                 save_every_s=args.save_every)
    except training.NaNLossError as error:
        print(f"bvae-tf train: error: {error}", file=sys.stderr)
        return 3
    print(f"Trained {spec.name} for {record['epochs']} epochs, best epoch "
          f"{record['best_epoch']}; wrote {args.results}")
    for key, value in record["metrics"].items():
        print(f"{key}  {value:.4f}")
    return 0


def _add_report(subparsers, parents):
    parser = subparsers.add_parser(
        "report", parents=parents, help="Figures 1 and 2, tables, reconstructions, traversals "
        "and report.md of a results directory.")
    _results_argument(parser, help_text="Results directory of a sweep.")
    parser.add_argument("--report-dir", default=None, metavar="DIR", help="Where the report "
                        "goes (default: <results>/report/).")
    parser.add_argument("--trials", nargs="+", default=None, metavar="NAME",
                        help="Trials whose reconstructions and traversals are drawn "
                        "(default: per entry, the lowest and highest beta at seed 0).")
    parser.add_argument("--seed", type=SEED, default=0, help="Seed drawing the test images "
                        "shown (default: 0).")


def _run_report(args):
    from bvae_tf.reports import write_report

    path = write_report(args.results, args.report_dir, chosen=args.trials, seed=args.seed,
                        shapes_cache_dir=args.cache_dir, mnist_path=args.mnist)
    print(f"wrote {path}")


def _add_sweep(subparsers, parents):
    parser = subparsers.add_parser(
        "sweep", parents=parents, help="Run or resume a beta sweep with keras-tuner (local, "
        "chief or worker).")
    parser.add_argument("--study", choices=("shapes", "mnist"), default="shapes",
                        help="Which study to sweep (default: shapes).")
    _add_sweep_arguments(parser)


def _add_mnist(subparsers, parents):
    parser = subparsers.add_parser(
        "mnist", parents=parents, help="The MNIST experiment: its beta sweep (= sweep --study "
        "mnist).")
    parser.set_defaults(study="mnist", seed=0, cache_dir=None, param=None)
    _add_sweep_arguments(parser, shapes=False)


def _add_sweep_arguments(parser, shapes=True):
    parser.add_argument("--profile", default="quick", help="quick, paper or the path of a .py "
                        "file defining PROFILE (default: quick).")
    others = f"; the other objectives': {', '.join(zoo.OBJECTIVE_NAMES)}" if shapes else ""
    parser.add_argument("--entries", default=None, help="Comma-separated zoo entries "
                        f"(default: the profile's for the study; the paper's: "
                        f"{', '.join(zoo.names(None if shapes else 'mnist'))}{others}).")
    parser.add_argument("--betas", nargs="+", default=None, help="KL weights, e.g. 0 1 4 or "
                        "0,1,4 (default: the profile's).")
    parser.add_argument("--seeds", nargs="+", default=None, help="Training seeds (default: "
                        "the profile's).")
    parser.add_argument("--fractions", nargs="+", default=None, help="MNIST training "
                        "fractions (default: the profile's).")
    if shapes:
        parser.add_argument("--param", action="append", default=None,
                            metavar="NAME=V1,V2,...", help="Also sweep a hyperparameter of the "
                            "entries' own, e.g. tc_weight=1,2,5,10 for fc_beta_tcvae "
                            "(zoo/objectives.md); repeat for more. Default: none (each entry "
                            "at its own values).")
        parser.add_argument("--seed", type=SEED, default=0, help="Seed of the shapes "
                            "subsample and split (default: 0); the training seeds are --seeds.")
    _results_argument(parser, help_text="Results directory (rerun the same command to "
                      "resume).")
    parser.add_argument("--role", choices=("local", "chief", "worker"), default="local",
                        help="local: run every trial here; chief: serve the keras-tuner "
                        "oracle; worker: take trials from the chief.")
    parser.add_argument("--oracle", default="127.0.0.1:8000", metavar="HOST:PORT",
                        help="Address of the chief (plaintext gRPC: keep it on loopback, a "
                        "private network or an SSH tunnel).")
    parser.add_argument("--lease", type=_number(0, 86_400, low_open=True), default=300.0,
                        metavar="SECONDS", help="Chief: a trial whose worker sends no heartbeat "
                        "for this long goes to another worker, which resumes it (default: "
                        "300).")
    parser.add_argument("--connect-timeout", type=_number(0, 86_400, low_open=True),
                        default=60.0, metavar="SECONDS",
                        help="How long a worker waits for the chief, per call (default: 60).")
    parser.add_argument("--quiet", action="store_true", help="No progress bar.")


def _numbers(values, kind, flag):
    if values is None:
        return None
    items = [item for value in values for item in value.split(",") if item.strip()]
    try:
        return [kind(item) for item in items]
    except ValueError:
        raise ValueError(f"{flag} takes {kind.__name__} values; got {values}.") from None


def _params(texts):
    """`["tc_weight=1,2"]` -> `{"tc_weight": [1.0, 2.0]}`; None stays None."""
    if texts is None:
        return None
    params = {}
    for text in texts:
        name, _, values = text.partition("=")
        name = name.strip()
        if not name or name in params:
            raise ValueError(f"--param takes NAME=V1,V2,... once per name; got {text!r}.")
        params[name] = _numbers([values], float, f"--param {name}")
    return params


def _run_sweep(args):
    from bvae_tf import tuning

    try:
        summary = tuning.run_sweep(
            args.profile, args.study, args.results, role=args.role, oracle=args.oracle,
            entries=None if args.entries is None else args.entries.split(","),
            betas=_numbers(args.betas, float, "--betas"),
            seeds=_numbers(args.seeds, int, "--seeds"),
            fractions=_numbers(args.fractions, float, "--fractions"),
            params=_params(args.param), seed=args.seed,
            cache_dir=args.cache_dir, mnist_path=args.mnist,
            connect_timeout=args.connect_timeout, verbose=0 if args.quiet else 1,
            lease_s=args.lease,
        )
    except TimeoutError as error:
        print(f"bvae-tf sweep: error: {error}", file=sys.stderr)
        return 3
    print(f"{summary['completed']} of {summary['total']} trials of the {args.study} sweep "
          f"have records in {args.results}")
    if summary["missing"]:
        print(f"bvae-tf sweep: {len(summary['missing'])} trials have no record: "
              f"{', '.join(summary['missing'])}; rerun the command to retry them.",
              file=sys.stderr)
        return 1
    return 0


def _add_results(subparsers, parents):
    parser = subparsers.add_parser("results", help="Print the records of a results directory "
                                   "as one table.")
    _results_argument(parser, help_text="Results directory of a sweep.")
    parser.add_argument("--study", choices=("shapes", "mnist"), default=None,
                        help="Only this study (default: both).")
    parser.add_argument("--csv", default=None, metavar="OUT", help="Also write the table as "
                        "CSV to OUT.")


def _run_results(args):
    from bvae_tf import results

    if args.csv:
        _check_writable_file(args.csv, "--csv")
    rows = results.records_table(results.read_records(args.results, study=args.study))
    print(results.format_table(rows))
    if args.csv:
        results.write_csv(rows, args.csv)
        print(f"wrote {len(rows)} rows to {args.csv}")


def _add_metric(subparsers, parents):
    parser = subparsers.add_parser(
        "metric", parents=parents, help="Disentanglement metrics of an exported encoder on "
        "ground-truth data (the shapes grid, dSprites, 3D Shapes).")
    parser.add_argument("--encoder", required=True, metavar="PATH", help="Exported encoder: "
                        "<dir>/<name>/<version> or <dir>/<name> (its latest version).")
    parser.add_argument("--metrics", default="beta_vae,factor_vae,mig,dci,sap",
                        help="Comma-separated metrics (default: all five).")
    parser.add_argument("--data", default="shapes", metavar="NAME_OR_PATH", help="Ground-truth "
                        "data: shapes (default), dsprites or 3dshapes (the user's file, see "
                        "README 'Your own data'), or the path of a .npz (dSprites layout) or "
                        ".h5 (3D Shapes layout) file.")
    parser.add_argument("--fixed-factor", default="0", metavar="NAME_OR_INDEX",
                        help="Factor the paper's beta-VAE protocol holds fixed (default: 0, "
                        "the first: the shapes' shape).")
    parser.add_argument("--protocol", choices=("peychev2017", "higgins2017"),
                        default="peychev2017", help="beta-VAE score protocol (default: the "
                        "paper's, peychev2017).")
    parser.add_argument("--dci-importance", choices=("gradient_boosting", "random_forest"),
                        default="gradient_boosting", help="DCI importance model (default: "
                        "disentanglement_lib's gradient boosting; random_forest is faster).")
    parser.add_argument("--seed", type=SEED, default=0, help="Seed of the metrics' sampling "
                        "(default: 0).")
    parser.add_argument("--recalibrate-bn", action="store_true", help="Before scoring, "
                        "re-estimate batch norm's moving statistics on training images, in "
                        "memory (the encoder's files stay as they are): the shapes' training "
                        "split drawn with --seed, or observations of other data drawn with "
                        "--seed. Scores are then keyed <score>.recalibrated. Needs an encoder "
                        "exported with its batch-norm inputs (bvae_tf from December 2026).")
    parser.add_argument("--recalibration-samples", type=_integer(1), default=None,
                        metavar="N", help="Images --recalibrate-bn re-estimates on (default: "
                        "all of the shapes' training split, else its first N; 10000 "
                        "observations of other data).")
    parser.add_argument("--json", default=None, metavar="OUT",
                        help="Also write the scores as JSON to OUT (atomically).")


def _score_text(key, value):
    """A score with 4 decimals; a count (`.num_*`, `.epochs`) as the whole number it is."""
    name = key.rsplit(".", 1)[-1]
    if (name.startswith("num_") or name == "epochs") and float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.4f}"


def _run_metric(args):
    from bvae_tf import export, metrics, results
    from bvae_tf.data import catalog, ground_truth

    names = metrics.parse_names(args.metrics)
    if args.recalibration_samples is not None and not args.recalibrate_bn:
        raise ValueError("--recalibration-samples sets how many images --recalibrate-bn "
                         "re-estimates on: add --recalibrate-bn, or drop it.")
    if args.json:
        _check_writable_file(args.json, "--json")
    fixed_factor = int(args.fixed_factor) if args.fixed_factor.isdigit() else args.fixed_factor
    options = {"beta_vae": {"protocol": args.protocol, "fixed_factor": fixed_factor},
               "dci": {"importance_model": args.dci_importance}}
    encoder = export.load_encoder(args.encoder)
    print(f"loading the ground-truth data {args.data}", file=sys.stderr, flush=True)
    data = catalog.load_ground_truth(args.data, cache_dir=args.cache_dir)
    if "beta_vae" in names:  # before any metric runs
        ground_truth.factor_index(data, fixed_factor, "--fixed-factor")
    encoder, recalibration_images = _recalibrated_if_asked(encoder, data, args)
    suffix = f".{results.RECALIBRATED}" if args.recalibrate_bn else ""
    scores = {}
    for name in names:  # one at a time, saying which: with an int seed, the same numbers
        print(f"computing {name} on {args.encoder}", file=sys.stderr, flush=True)
        scores.update({f"{key}{suffix}": value for key, value in metrics.compute(
            (name,), data, encoder, args.seed,
            **({name: options[name]} if name in options else {})).items()})
    width = max(map(len, scores))
    print("\n".join(f"{key:<{width}}  {_score_text(key, value)}"
                    for key, value in scores.items()))
    if args.json:
        results.atomic_write_json(args.json, {
            "encoder": str(encoder.path), "data": str(args.data), "metrics": names,
            "seed": args.seed, "fixed_factor": fixed_factor,
            "protocol": args.protocol, "dci_importance": args.dci_importance,
            "recalibrate_bn": args.recalibrate_bn,
            "recalibration_images": recalibration_images, "scores": scores,
        })
        print(f"wrote {args.json}")


def _recalibrated_if_asked(encoder, data, args):
    """With --recalibrate-bn, `encoder` with batch norm's statistics re-estimated in memory
    on the training images, and their number; else `(encoder, None)`."""
    if not args.recalibrate_bn:
        return encoder, None
    from bvae_tf import recalibrated_export

    images, count = recalibrated_export.training_images(
        data, args.seed, args.recalibration_samples, encoder.batch_size)
    print(f"re-estimating batch norm's statistics of {args.encoder} on {count:,} training "
          f"images of {args.data}", file=sys.stderr, flush=True)
    return recalibrated_export.recalibrate_exported(encoder, images), count


def _add_reproduce(subparsers, parents):
    parser = subparsers.add_parser(
        "reproduce", parents=parents, help="The whole paper: data, shapes and MNIST sweeps, "
        "report (resumable).")
    parser.add_argument("--profile", default="quick", help="quick (minutes on a CPU, the "
                        "default), paper (the full protocol), or a .py file defining PROFILE.")
    _results_argument(parser, required=False, help_text="Results directory (default: "
                      "results/<profile>).")
    parser.add_argument("--seed", type=SEED, default=0, help="Seed of the shapes subsample "
                        "and split (default: 0); the training seeds are the profile's.")
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))


def _run_reproduce(args):
    from bvae_tf import reproduce

    results_dir = args.results or pathlib.Path("results") / pathlib.Path(args.profile).stem
    report = reproduce.reproduce(args.profile, results_dir, cache_dir=args.cache_dir,
                                 mnist_path=args.mnist, seed=args.seed, verbose=args.verbose)
    print(f"report: {report}")


def _add_serving_config(subparsers, parents):
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


def _add_speed(subparsers, parents):
    parser = subparsers.add_parser(
        "speed", help="Measure (or show the cached) training speed of a zoo entry per "
        "precision and XLA setting on this machine: what precision/jit_compile 'auto' picks.")
    parser.add_argument("--model", default="fc", choices=zoo.NAMES, help="Zoo entry "
                        "(default: fc).")
    parser.add_argument("--batch-size", type=_integer(1), default=1000,
                        help="Training batch size (default: 1000, the paper's).")
    parser.add_argument("--refresh", action="store_true", help="Measure again even if the "
                        "cache has the answer.")


def _run_speed(args):
    from bvae_tf import speed

    config = zoo.entry(args.model).model_config()
    rows = speed.probe_table(config, args.batch_size, refresh=args.refresh)
    print(speed.format_table(rows, config, args.batch_size))


def _add_zoo(subparsers, parents):
    parser = subparsers.add_parser(
        "zoo", parents=parents, help="The zoo's reference study: train the wanted reference "
        "trials, list them, collect finished records into zoo/, write the cards.")
    parser.add_argument("action", choices=("run", "wanted", "collect", "cards"), help="run: "
                        "train the next wanted reference trials by the paper profile in the "
                        "runs folder (resumable: run it again to go on); wanted: list the "
                        "wanted trials and where each one's reference is; collect: copy the "
                        "early-stopped records of --results into zoo/records and draw one "
                        "reference model per entry into zoo/images; cards: write the cards.")
    _results_argument(parser, required=False, help_text="Results directory of reference "
                      "runs (collect only).")
    parser.add_argument("--zoo", default=None, metavar="DIR", help="The zoo folder (default: "
                        "the repository's zoo/).")
    parser.add_argument("--runs", default=None, metavar="DIR", help="run, wanted: the runs "
                        "folder (default: $BVAE_TF_RUNS, else runs/reference beside the shapes "
                        "cache, outside any checkout).")
    parser.add_argument("--max-trials", type=_integer(1), default=None, metavar="N",
                        help="run: stop after training N trials (default: all).")
    parser.add_argument("--only", nargs="+", default=None, metavar="TRIAL",
                        help="run: train only these wanted trials (names as `wanted` prints).")
    parser.add_argument("--seed", type=SEED, default=0, help="Seed drawing the test images "
                        "shown (collect only; default: 0).")


def _run_zoo(args):
    from bvae_tf import reference
    from bvae_tf.reports import cards

    if args.action in ("run", "wanted"):
        runs = args.runs or reference.default_runs_dir()
        _check_writable_dir(runs, "--runs")
        if args.action == "wanted":
            for spec, where in reference.status(runs, args.zoo):
                print(f"{spec.name:40s} {where or '-'}")
            return 0
        records = reference.run(runs, args.zoo, args.max_trials, args.only,
                                cache_dir=args.cache_dir, mnist_path=args.mnist)
        print(f"trained {len(records)} reference trials into {runs}; add them to the zoo with "
              f"`bvae-tf zoo collect --results {runs}`")
        return 0
    if args.action == "collect":
        if args.results is None:
            raise ValueError("zoo collect needs --results DIR, the reference runs' results.")
        names = cards.collect(args.results, args.zoo, seed=args.seed)
        print(f"collected {len(names)} reference records into "
              f"{args.zoo or cards.default_zoo_dir()}")
        from bvae_tf import results

        for record in results.read_records(args.results):
            problem = (cards.reference_problem(record)
                       or cards.model_problem(record, args.results))
            if problem:
                print(f"left out {record['trial_name']}: {problem}")
    paths = cards.write_cards(args.zoo)
    print(f"wrote {len(paths)} cards into {paths[-1].parent}")


def _check_writable_dir(path, flag):
    """Refuses a directory path under a regular file, before any work."""
    for parent in [pathlib.Path(path), *pathlib.Path(path).parents]:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"{flag} {path}: {parent} is a file, not a directory; choose "
                                 "another path.")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise ValueError(f"{flag} {path}: {parent} is not writable; choose another "
                                 "path.")
            return


def _check_writable_file(path, flag):
    """Refuses an output file path that is a directory or lies under a file, before any work."""
    if pathlib.Path(path).is_dir():
        raise ValueError(f"{flag} {path} is a directory; give a file name, e.g. "
                         f"{pathlib.Path(path) / 'out'}.")
    _check_writable_dir(pathlib.Path(path).parent, flag)


# name: (declare flags, run, which dataset files it reads)
COMMANDS = {
    "data": (_add_data, _run_data, "shapes"),
    "metric": (_add_metric, _run_metric, "shapes"),
    "train": (_add_train, _run_train, "both"),
    "report": (_add_report, _run_report, "both"),
    "sweep": (_add_sweep, _run_sweep, "both"),
    "mnist": (_add_mnist, _run_sweep, "mnist"),
    "results": (_add_results, _run_results, "none"),
    "reproduce": (_add_reproduce, _run_reproduce, "both"),
    "serving-config": (_add_serving_config, _run_serving_config, "none"),
    "zoo": (_add_zoo, _run_zoo, "both"),
    "speed": (_add_speed, _run_speed, "none"),
}


def _version_text():
    """`bvae-tf X.Y.Z`, with the git commit when run from a checkout."""
    import importlib.metadata

    from bvae_tf import results

    try:
        version = importlib.metadata.version("bvae_tf")
    except importlib.metadata.PackageNotFoundError:
        version = "(not installed)"
    code = results.code_version()
    commit = f" (commit {code['commit'][:12]}{', modified' if code['dirty'] else ''})" \
        if code else ""
    return f"bvae-tf {version}{commit}"


class _Version(argparse.Action):
    """`--version`: prints `_version_text()` (asking git only then) and exits."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs):
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0,
                         help="Print the version (and git commit) and exit.")

    def __call__(self, parser, namespace, values, option_string=None):
        print(_version_text())
        parser.exit()


# Commands that never import TensorFlow: they start without it.
WITHOUT_TENSORFLOW = ("results",)


def _start_tensorflow_quietly():
    """Imports TensorFlow and finds its devices with the C++ start-up lines hidden.

    Those lines (oneDNN, CUDA stubs, a `cuInit` "error" on machines without a GPU) are
    written by native code to file descriptor 2 before TensorFlow's log level applies, so
    `TF_CPP_MIN_LOG_LEVEL` cannot hide them all. They go to a temporary file instead, shown
    only if starting TensorFlow fails.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def build_parser():
    """Returns the argument parser of `bvae-tf` with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="bvae-tf",
        description="beta-VAE model zoo: data, training, metrics, sweeps and reports.",
    )
    parser.add_argument("--version", action=_Version)
    parser.add_argument("--tf-logs", action="store_true", help="Show what TensorFlow's C++ "
                        "code prints while starting (oneDNN, CUDA probing); hidden by default.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_parser = subparsers.add_parser

    def described(name, **kwargs):  # `bvae-tf CMD --help` says what CMD does, as the list
        kwargs.setdefault("description", kwargs.get("help"))
        return add_parser(name, **kwargs)

    subparsers.add_parser = described
    parents = _dataset_parents()
    for add, _, datasets in COMMANDS.values():
        add(subparsers, parents[datasets])
    return parser


def main(argv=None):
    """Entry point of the `bvae-tf` console script."""
    args = build_parser().parse_args(argv)
    run = COMMANDS[args.command][1]
    if not args.tf_logs and args.command not in WITHOUT_TENSORFLOW:
        _start_tensorflow_quietly()
    try:
        return run(args) or 0
    except (ValueError, FileNotFoundError, FileExistsError, RuntimeError) as error:
        print(f"bvae-tf {args.command}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        where = f": {error.filename}" if error.filename else ""
        print(f"bvae-tf {args.command}: error: {error.strerror or error}{where}",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
