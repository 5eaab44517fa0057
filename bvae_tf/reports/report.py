"""`write_report`: figures, tables, images and report.md from a results directory alone."""

import json
import pathlib

from bvae_tf import profiles, results
from bvae_tf.reports import cards, figures, markdown, samples, tables

REPORT_FILE = "report.md"
# The files a report wrote into its folder: the only ones a later report replaces or deletes.
MANIFEST_FILE = ".bvae_tf-report.json"
FIGURE_FILES = {"shapes": "figure1.png", "mnist": "figure2.png"}
# Shapes trials that set an entry's own hyperparameters (`bvae-tf sweep --param`), against it.
HYPERPARAMETER_FIGURE = "figure_hyperparameters.png"
FIGURE_NAMES = {"shapes": "Figure 1", "mnist": "Figure 2"}
FIGURE_TITLES = {
    "shapes": "Figure 1: disentanglement against beta (shapes)",
    "mnist": "Figure 2: SVM accuracy on MNIST codes against beta",
}
FIGURE_METRICS = {"shapes": "beta_vae or mig metric", "mnist": "svm_accuracy metric"}
HIGGINS_CHANCE = 0.2  # protocol="higgins2017": one of the 5 factors held fixed.
PAPER_CHANCE = 0.25  # protocol="peychev2017": one of 4 factors changed.
DDOF_WORDS = {0: "ddof=0 (the population standard deviation, numpy's default)",
              1: "ddof=1 (the sample standard deviation, as the authors' MNIST summary)"}


def _check_results_dir(results_dir):
    results_dir = pathlib.Path(results_dir)
    if not results_dir.is_dir():
        raise ValueError(
            f"No results directory at {results_dir}: expected the folder written by "
            "`bvae-tf sweep --results DIR` (holding records/<study>/*.json). Run a sweep first "
            "or check the path."
        )
    records = results.read_records(results_dir)
    if not records:
        raise ValueError(
            f"No finished trials in {results_dir}: expected JSON records under "
            f"{results_dir / 'records' / 'shapes'} or {results_dir / 'records' / 'mnist'}. "
            "Run (or resume) `bvae-tf sweep --results DIR` until some trials finish."
        )
    return results_dir, records


def beta_vae_chance(config, records):
    """Chance level of the beta-VAE score: 0.2 for protocol="higgins2017", else 0.25."""
    options = [(config.get("metric_options") or {}).get("beta_vae") or {}]
    options += [((record.get("config") or {}).get("metric_options") or {}).get("beta_vae")
                or {} for record in records]
    protocols = {option.get("protocol") for option in options}
    return HIGGINS_CHANCE if protocols == {"higgins2017"} else PAPER_CHANCE


def _study_files(study):
    extra = (HYPERPARAMETER_FIGURE,) if study == "shapes" else ()
    return (FIGURE_FILES[study], *extra, f"{study}.csv", f"{study}_summary.csv")


def _owned_files(out_dir, is_default):
    """Names in `out_dir` that a report may replace or delete (None: all, its own folder).

    `<results>/report/` belongs to the results directory; another `--report-dir` may hold
    the user's files, so there a report touches only what its manifest says it wrote.
    """
    if is_default:
        return None
    path = out_dir / MANIFEST_FILE
    if not path.is_file():
        return set()
    try:
        names = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        names = error
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ValueError(f"The report manifest {path} is damaged: delete it (and the report "
                         "files it listed) or choose another --report-dir.")
    return set(names)


def _check_owned(out_dir, names, owned):
    """Refuses, before anything is written, to replace a file the report did not write."""
    if owned is None:
        return
    foreign = sorted(name for name in names if (out_dir / name).exists() and name not in owned)
    if foreign:
        raise ValueError(
            f"--report-dir {out_dir} holds {', '.join(foreign)}, which bvae-tf report did not "
            "write: choose a new or empty --report-dir (or the default, <results>/report), or "
            "move those files away. Nothing was written.")


def _study_section(study, rows, out_dir, chance, ddof, reference_rows, owned=None):
    """Writes a study's CSV files and figure; returns (markdown text, written paths)."""
    study_rows = [row for row in rows if row["study"] == study]
    heading = f"## {FIGURE_TITLES[study]}"
    if not study_rows:
        for name in _study_files(study):
            if owned is None or name in owned:
                (out_dir / name).unlink(missing_ok=True)
        return (f"{heading}\n\n{FIGURE_NAMES[study]} skipped: no {study} "
                "records in this results directory."), []
    summary = tables.summarize(study_rows, study, ddof)
    reference = tables.summarize(reference_rows, study, ddof)
    csv_files = [results.write_csv(study_rows, out_dir / f"{study}.csv"),
                 results.write_csv(summary, out_dir / f"{study}_summary.csv")]
    body, drawn = _paper_figure(study, summary, reference, out_dir, chance, ddof)
    if reference:
        body += ("\n\nBlack squares: the zoo's reference runs (`zoo/`, the paper's full "
                 "protocol). " + reference_gap_text(summary, reference))
    if study == "shapes":
        text, more = _hyperparameter_figure(summary, out_dir, chance, ddof)
        body, drawn = body + text, drawn + more
    table = tables.markdown_table(summary, study)
    return (f"{heading}\n\n{body}\n\n### {markdown.STUDY_TITLES[study]} summary (mean ± std over "
            f"seeds, ddof={ddof})\n\n{table}\n\nEvery number of every record: [{study}.csv]({study}.csv); "
            f"every summary column: [{study}_summary.csv]({study}_summary.csv)."), drawn + csv_files


def _paper_figure(study, summary, reference, out_dir, chance, ddof):
    """Draws Figure 1 (the trials without options) or 2; returns (markdown, written paths)."""
    figure_path = out_dir / FIGURE_FILES[study]
    figure_path.unlink(missing_ok=True)
    plain = [line for line in summary if not results.option_values(line)]
    if study == "shapes":
        drawn = figures.figure1(plain, figure_path, chance=chance, reference=reference)
        caption = f"Dashed line: chance ({chance:g})."
    else:
        drawn = figures.figure2(summary, figure_path, reference=reference)
        caption = f"Dashed line: chance ({figures.MNIST_CHANCE:g}, 10 classes)."
    if not plain:
        return (f"{FIGURE_NAMES[study]} skipped: every {study} trial set an entry's own "
                "hyperparameter (drawn against it below)."), []
    if drawn is None:
        return (f"{FIGURE_NAMES[study]} skipped: the {study} records hold no "
                f"{FIGURE_METRICS[study]}."), []
    body = (f"![{FIGURE_TITLES[study]}]({figure_path.name})\n\nError bars: one standard "
            f"deviation over seeds, {DDOF_WORDS[ddof]}. {caption}")
    if figures.has_recalibrated(summary):
        body += " " + figures.BOTH_STATISTICS
    return body, [drawn]


def _hyperparameter_figure(summary, out_dir, chance, ddof):
    """Draws the shapes scores against the entries' own swept hyperparameters, if any; returns
    (markdown text, written paths)."""
    path = out_dir / HYPERPARAMETER_FIGURE
    path.unlink(missing_ok=True)
    if not any(results.option_values(line) for line in summary):
        return "", []
    title = "Disentanglement against each entry's own hyperparameter (shapes)"
    if figures.figure_hyperparameters(summary, path, chance=chance) is None:
        return (f"\n\n{title}: skipped, the records that set one hold no "
                f"{FIGURE_METRICS['shapes']}."), []
    return (f"\n\n![{title}]({path.name})\n\nThe trials of `bvae-tf sweep --param`: "
            "each panel one entry's hyperparameter, a line per beta; error bars one standard "
            f"deviation over seeds, {DDOF_WORDS[ddof]}. Dashed line: chance ({chance:g})."), [path]


def reference_gap_text(summary, reference):
    """Per entry, how far this run's validation reconstruction loss is from the reference's.

    Compares the means over the betas (and fractions) both have.

    Example:
        >>> run = [{"entry": "fc", "fraction": None, "beta": 4.0,
        ...         "val_reconstruction_loss_mean": 300.0}]
        >>> ref = [{"entry": "fc", "fraction": None, "beta": 4.0,
        ...         "val_reconstruction_loss_mean": 100.0}]
        >>> reference_gap_text(run, ref)
        'Validation reconstruction loss against the reference, at the betas both ran: fc 300.0 against 100.0 (3.0x).'
    """
    column = "val_reconstruction_loss_mean"
    known = {(line["entry"], line.get("fraction"), line["beta"]): line[column]
             for line in reference if column in line}
    parts = []
    for entry in sorted({line["entry"] for line in summary}, key=tables.entry_sort_key):
        pairs = [(line[column], known[key]) for line in summary if line["entry"] == entry
                 and column in line
                 and (key := (entry, line.get("fraction"), line["beta"])) in known]
        if pairs:
            ours = sum(pair[0] for pair in pairs) / len(pairs)
            theirs = sum(pair[1] for pair in pairs) / len(pairs)
            parts.append(f"{entry} {ours:.1f} against {theirs:.1f} ({ours / theirs:.1f}x)")
    if not parts:
        return "No beta of this run has a reference run yet."
    return ("Validation reconstruction loss against the reference, at the betas both ran: "
            + "; ".join(parts) + ".")


def _regenerate_command(results_dir, report_dir, chosen, seed):
    command = f"bvae-tf report --results {results_dir} --report-dir {report_dir}"
    if chosen is not None:
        names = [chosen] if isinstance(chosen, str) else list(chosen)
        command += " --trials " + " ".join(names)
    return command + (f" --seed {seed}" if seed != 0 else "")


def write_report(results_dir, report_dir=None, chosen=None, seed=0, *, shapes_cache_dir=None,
                 mnist_path=None, zoo_dir=None):
    """Writes the report of a results directory: figures, tables, images and report.md.

    Everything comes from the results directory (records, config.json, saved models) and
    from the deterministic data caches (test images for reconstructions and traversals).
    A study without records is skipped and report.md says so.

    Args:
        results_dir: str or Path, a results directory written by a sweep.
        report_dir: str, Path or None. Defaults to None: `<results_dir>/report/`.
        chosen: None, a trial name or a list of trial names whose reconstructions and
            traversals are drawn. Defaults to None: per zoo entry, the lowest and the
            highest beta at seed 0 (trials without a saved model are skipped).
        seed: int, draws the test images shown. Defaults to 0.
        shapes_cache_dir: str, Path or None, the shapes cache (see
            `bvae_tf.data.shapes.load`). Defaults to None: `$BVAE_TF_CACHE` or the user cache.
        mnist_path: str, Path or None, `mnist.npz` (see `bvae_tf.data.mnist.load_mnist`).
        zoo_dir: str, Path or None, the zoo folder whose reference records are drawn beside
            this run's points. Defaults to None: the repository's `zoo/` (nothing is drawn
            when it has no records).

    Returns:
        Path of report.md.

    Raises:
        ValueError: if `results_dir` is missing or holds no record, a record or config.json
            is corrupted, a chosen trial has no record or no saved model, or a saved model
            to draw is damaged (checked before anything is written).

    Example:
        >>> write_report("runs/quick")  # doctest: +SKIP
        PosixPath('runs/quick/report/report.md')
    """
    results_dir, records = _check_results_dir(results_dir)
    trials = samples.select_trials(records, chosen)
    if chosen is not None:
        samples.check_models(results_dir, trials)
    samples.check_archives(results_dir, trials)
    out_dir = results_dir / "report" if report_dir is None else pathlib.Path(report_dir)
    owned = _owned_files(out_dir, report_dir is None)
    _check_owned(out_dir, [REPORT_FILE, *(name for study in results.STUDIES
                                          for name in _study_files(study)),
                           *(f"{kind}-{record['trial_name']}.png" for record in trials
                             for kind in ("reconstructions", "traversals"))], owned)
    out_dir.mkdir(parents=True, exist_ok=True)
    sweep_config = results.read_config(results_dir)
    config = sweep_config.get("profile", {})
    rows = results.records_table(records)
    reference_rows = results.records_table(cards.reference_records(zoo_dir))
    paper = profiles.get_profile("paper").to_config()
    parts = [f"# bvae_tf report: {results_dir.name}",
             (f"Made by `bvae-tf report` from `{results_dir}` alone (records, config.json and "
             "saved models; test images regenerated from the data caches)."),
             markdown.run_section(results_dir, config, records, paper)]
    files = []
    for study in results.STUDIES:
        text, written = _study_section(study, rows, out_dir, beta_vae_chance(config, records),
                                       config.get("std_ddof", 0 if config else 1),
                                       reference_rows, owned)
        parts.append(text)
        files += written
    images, notes = samples.write_samples(results_dir, out_dir, trials, seed,
                                          shapes_cache_dir, mnist_path, sweep_config)
    parts.append(markdown.samples_section(images, notes, default_choice=chosen is None))
    files += [item[key] for item in images for key in ("reconstructions", "traversals")]
    parts.append("## Files\n\n" + "\n".join(f"- [{path.name}]({path.name})" for path in files))
    parts.append("## How to regenerate\n\n```\n"
                 f"{_regenerate_command(results_dir, out_dir, chosen, seed)}\n```")
    report = out_dir / REPORT_FILE
    report.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    still = {name for name in owned or () if (out_dir / name).exists()}
    results.atomic_write_json(out_dir / MANIFEST_FILE,
                              sorted({REPORT_FILE, *(path.name for path in files), *still}))
    return report
