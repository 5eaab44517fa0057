"""The paper's figures, drawn from summary rows (means and stds over seeds).

Figure 1: disentanglement metrics (beta-VAE score, and MIG when the records have it) against
beta, one panel per shapes zoo entry. `figure_hyperparameters`: the same metrics against an
entry's own hyperparameter (`bvae-tf sweep --param`), one panel per entry and hyperparameter,
a line per beta. Figure 2: the SVM's test accuracy on MNIST codes
against beta, one line per training fraction, one panel per MNIST zoo entry. Error bars are
one standard deviation over seeds. Matplotlib is used through its object API with the Agg
canvas (no pyplot, no global state).

References:
    Peychev, Velickovic and Lio (2017), Figure 1 (section 4) and Figure 2 (section 4.2).
"""

import math

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bvae_tf import results
from bvae_tf.reports.tables import entry_sort_key, format_beta, option_columns, std_key

DPI = 120
Y_LIMITS = (-0.02, 1.02)
FIGURE1_METRICS = (
    ("beta_vae", "beta-VAE score\n(test accuracy)"),
    ("mig", "MIG"),
)
MNIST_CHANCE = 0.1
# Said under a figure that draws both: which line is which.
BOTH_STATISTICS = ("Solid lines: the encoder as trained, evaluating with batch norm's moving "
                   "averages (the authors'); dotted: the same encoders with the statistics "
                   "re-estimated on the training data.")


def _has(summary, column):
    return any(math.isfinite(line.get(f"{column}_mean", math.nan)) for line in summary)


def _entries(summary):
    return sorted({line["entry"] for line in summary}, key=entry_sort_key)


def _seed_text(lines):
    counts = sorted({line["seeds"] for line in lines})
    text = str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    return f"{text} seed" + ("" if counts == [1] else "s")


def _errorbar(axes, lines, column, label, color=None, fmt="o-", x="beta"):
    lines = sorted(lines, key=lambda line: line[x])
    return axes.errorbar(
        [line[x] for line in lines],
        [line[f"{column}_mean"] for line in lines],
        yerr=[line[std_key(column, line["ddof"])] for line in lines],
        fmt=fmt, markersize=4 if fmt.startswith("o") else 6, linewidth=1.5, capsize=3,
        elinewidth=1, color=color, label=label,
    )


def has_recalibrated(summary):
    """Whether any summary row has a score with recalibrated batch-norm statistics."""
    return any(key.endswith(f".{results.RECALIBRATED}_mean") for line in summary for key in line)


def _recalibrated(axes, lines, column, label, color=None):
    """The same scores with recalibrated batch-norm statistics, dotted, where records have them."""
    column = f"{column}.{results.RECALIBRATED}"
    known = [line for line in lines if math.isfinite(line.get(f"{column}_mean", math.nan))]
    if known:
        _errorbar(axes, known, column, label, color=color, fmt="^:")


def _reference_label(lines):
    epochs = sorted({round(line["epochs_mean"]) for line in lines if "epochs_mean" in line})
    if not epochs:
        return "reference: paper protocol"
    span = f"{epochs[0]}-{epochs[-1]}" if len(epochs) > 1 else f"{epochs[0]}"
    return f"reference: paper protocol, {span} epochs"


def _style(axes, ylabel=None, xlabel=None, title=None):
    axes.set_ylim(*Y_LIMITS)
    axes.set_yticks([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    axes.grid(True, alpha=0.3)
    if ylabel:
        axes.set_ylabel(ylabel)
    if xlabel:
        axes.set_xlabel(xlabel)
    if title:
        axes.set_title(title)


def _save(figure, path):
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=DPI)
    return path


def figure1(summary, path, chance=0.25, reference=()):
    """Draws Figure 1: disentanglement metrics against beta, one panel per zoo entry.

    Args:
        summary: list of dicts from `bvae_tf.reports.tables.summarize(rows, "shapes")`.
        path: str or Path of the PNG to write.
        chance: float, the beta-VAE score of a random guess, drawn as a dashed line.
            Defaults to 0.25 (the paper's protocol: 4 classes).
        reference: summary rows of the zoo's reference runs (`zoo/records`), drawn as black
            squares beside this run's points where they share an entry. Defaults to ().

    Returns:
        `path`, or None (nothing written) when no summary row has a beta-VAE score or MIG.

    Example:
        >>> import os, tempfile
        >>> summary = [{"entry": "fc", "beta": beta, "seeds": 2, "ddof": 1, "beta_vae_mean": 0.5,
        ...             "beta_vae_std_ddof1": 0.1} for beta in (0.0, 4.0)]
        >>> path = figure1(summary, os.path.join(tempfile.mkdtemp(), "figure1.png"))
        >>> os.path.basename(path), figure1([], "unused.png")
        ('figure1.png', None)
    """
    metrics = [(column, label) for column, label in FIGURE1_METRICS if _has(summary, column)]
    if not metrics:
        return None
    entries = _entries(summary)
    figure = Figure(figsize=(3.4 * len(entries) + 0.6, 2.9 * len(metrics) + 0.7),
                    layout="constrained")
    grid = figure.subplots(len(metrics), len(entries), squeeze=False, sharex="col")
    for row, (column, label) in enumerate(metrics):
        for col, entry in enumerate(entries):
            axes = grid[row][col]
            lines = [line for line in summary if line["entry"] == entry]
            _errorbar(axes, lines, column,
                      f"mean ± std, ddof={lines[0]['ddof']} ({_seed_text(lines)})")
            _recalibrated(axes, lines, column, "recalibrated batch-norm statistics")
            known = [line for line in reference
                     if line["entry"] == entry and math.isfinite(line.get(f"{column}_mean",
                                                                          math.nan))]
            if known:
                _errorbar(axes, known, column, _reference_label(known), color="black",
                          fmt="s--")
            if column == "beta_vae":
                axes.axhline(chance, linestyle="--", color="grey",
                             label=f"chance ({format_beta(chance)})")
            _style(axes, ylabel=label if col == 0 else None,
                   xlabel="beta" if row == len(metrics) - 1 else None,
                   title=entry if row == 0 else None)
            if col == 0:
                axes.legend(loc="best", fontsize="small")
    figure.suptitle("Figure 1: disentanglement against beta (shapes)")
    return _save(figure, path)


def figure2(summary, path, reference=()):
    """Draws Figure 2: SVM test accuracy against beta, a line per training fraction.

    Args:
        summary: list of dicts from `bvae_tf.reports.tables.summarize(rows, "mnist")`.
        path: str or Path of the PNG to write.
        reference: summary rows of the zoo's reference runs, drawn as black squares (one
            dashed line per fraction). Defaults to ().

    Returns:
        `path`, or None (nothing written) when no summary row has an SVM accuracy.

    Example:
        >>> import os, tempfile
        >>> summary = [{"entry": "mnist_fc", "fraction": 0.1, "beta": beta, "seeds": 2,
        ...             "ddof": 1, "svm_accuracy_mean": 0.9, "svm_accuracy_std_ddof1": 0.01}
        ...            for beta in (0, 1)]
        >>> path = figure2(summary, os.path.join(tempfile.mkdtemp(), "figure2.png"))
        >>> os.path.basename(path)
        'figure2.png'
    """
    if not _has(summary, "svm_accuracy"):
        return None
    entries = _entries(summary)
    figure = Figure(figsize=(max(4.2 * len(entries) + 0.6, 6.4), 3.8), layout="constrained")
    grid = figure.subplots(1, len(entries), squeeze=False, sharey=True)
    for col, entry in enumerate(entries):
        axes = grid[0][col]
        lines = [line for line in summary if line["entry"] == entry]
        for fraction in sorted({line["fraction"] for line in lines}, key=lambda f: f or 0.0):
            subset = [line for line in lines if line["fraction"] == fraction]
            name = "all" if fraction is None else f"{100 * fraction:g}%"
            drawn = _errorbar(axes, subset, "svm_accuracy",
                              f"{name} of training data ({_seed_text(subset)})")
            _recalibrated(axes, subset, "svm_accuracy", f"{name}, recalibrated statistics",
                          color=drawn[0].get_color())
            known = [line for line in reference
                     if line["entry"] == entry and line["fraction"] == fraction]
            if known:
                _errorbar(axes, known, "svm_accuracy", f"{name}, {_reference_label(known)}",
                          color="black", fmt="s--")
        axes.axhline(MNIST_CHANCE, linestyle="--", color="grey",
                     label=f"chance ({format_beta(MNIST_CHANCE)})")
        _style(axes, ylabel="SVM test accuracy" if col == 0 else None, xlabel="beta",
               title=entry)
        if col == 0:
            axes.legend(loc="lower left", fontsize="small")
    figure.suptitle("Figure 2: SVM accuracy on MNIST codes against beta\n"
                    f"(mean ± std over seeds, ddof={summary[0]['ddof']})", fontsize="medium")
    return _save(figure, path)


def _panels(summary):
    """(entry, option column) of every panel of `figure_hyperparameters`, in zoo order."""
    return [(entry, column) for entry in _entries(summary)
            for column in option_columns([line for line in summary if line["entry"] == entry])]


def _curves(lines, column):
    """`lines` split into curves along `column`: one per beta (and other options), labelled."""
    curves = {}
    for line in lines:
        others = tuple((key, value) for key, value in results.option_values(line)
                       if results.OPTION_PREFIX + key != column)
        curves.setdefault((line["beta"], others), []).append(line)
    return [(", ".join([f"beta {format_beta(beta)}", *(f"{key} {format_beta(value)}"
                                                       for key, value in others)]), curve)
            for (beta, others), curve in sorted(curves.items())]


def figure_hyperparameters(summary, path, chance=0.25):
    """Draws the metrics against each entry's own swept hyperparameter, a line per beta.

    Args:
        summary: list of dicts from `bvae_tf.reports.tables.summarize(rows, "shapes")`; only
            lines with options (`option.<name>`, from `bvae-tf sweep --param`) are drawn.
        path: str or Path of the PNG to write.
        chance: float, the beta-VAE score of a random guess, drawn dashed. Defaults to 0.25.

    Returns:
        `path`, or None (nothing written) when no line has options and a beta-VAE score or MIG.

    Example:
        >>> import os, tempfile
        >>> summary = [{"entry": "fc_beta_tcvae", "option.tc_weight": weight, "beta": 1.0,
        ...             "seeds": 2, "ddof": 1, "mig_mean": 0.1, "mig_std_ddof1": 0.02}
        ...            for weight in (1.0, 5.0)]
        >>> path = os.path.join(tempfile.mkdtemp(), "figure_hyperparameters.png")
        >>> os.path.basename(figure_hyperparameters(summary, path))
        'figure_hyperparameters.png'
    """
    summary = [line for line in summary if results.option_values(line)]
    metrics = [(column, label) for column, label in FIGURE1_METRICS if _has(summary, column)]
    panels = _panels(summary)
    if not metrics:
        return None
    figure = Figure(figsize=(max(3.4 * len(panels) + 0.6, 5.6), 2.9 * len(metrics) + 0.7),
                    layout="constrained")
    grid = figure.subplots(len(metrics), len(panels), squeeze=False)
    for row, (column, label) in enumerate(metrics):
        for col, (entry, option) in enumerate(panels):
            axes = grid[row][col]
            lines = [line for line in summary if line["entry"] == entry and option in line]
            for name, curve in _curves(lines, option):
                _errorbar(axes, curve, column, f"{name} ({_seed_text(curve)})", x=option)
            if column == "beta_vae":
                axes.axhline(chance, linestyle="--", color="grey",
                             label=f"chance ({format_beta(chance)})")
            _style(axes, ylabel=label if col == 0 else None,
                   xlabel=option[len(results.OPTION_PREFIX):] if row == len(metrics) - 1
                   else None, title=entry if row == 0 else None)
            axes.legend(loc="best", fontsize="small")
    figure.suptitle("Disentanglement against each entry's own hyperparameter\n"
                    f"(shapes; mean ± std over seeds, ddof={summary[0]['ddof']})",
                    fontsize="medium")
    return _save(figure, path)
