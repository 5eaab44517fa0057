"""Tables of a results directory: every number of every record, and means over seeds.

`summarize` groups the flat rows of `bvae_tf.results.records_table` by zoo entry and beta
(MNIST: entry, training fraction and beta), and by the entry's own hyperparameters where a
sweep set them (`option.<name>` columns), and gives the mean and the standard deviation
over seeds of every numeric column. The standard deviation's ddof is an argument (the
profile's `std_ddof`: 1, the sample standard deviation, as the authors' MNIST summary; 0 is
numpy's default) and is part of the column's name: `beta_vae_std_ddof1`. With ddof 1 a
group of one seed has no standard deviation (NaN, shown as "n/a").

Example:
    >>> rows = [{"study": "shapes", "entry": "fc", "fraction": None, "beta": 1.0, "seed": seed,
    ...          "beta_vae": value} for seed, value in enumerate([0.5, 0.7])]
    >>> line = summarize(rows, "shapes", ddof=0)[0]
    >>> line["seeds"], round(line["beta_vae_mean"], 3), round(line["beta_vae_std_ddof0"], 3)
    (2, 0.6, 0.1)
    >>> round(summarize(rows, "shapes", ddof=1)[0]["beta_vae_std_ddof1"], 4)
    0.1414
"""

import math
import numbers

import numpy as np

from bvae_tf import results, zoo

GROUP_COLUMNS = {"shapes": ("entry", "beta"), "mnist": ("entry", "fraction", "beta")}
_NOT_SUMMARIZED = ("study", "entry", "fraction", "beta", "seed")
# Columns shown in report.md (every column is in the CSV files), in this order, with the
# decimals of their cells.
_LOSS_COLUMNS = (("val_reconstruction_loss", 1), ("val_kl_loss", 1), ("epochs", 1))
MARKDOWN_COLUMNS = {
    "shapes": (("beta_vae", 3), ("mig", 3), ("factor_vae", 3), ("dci", 3),
               ("sap", 3), *_LOSS_COLUMNS),
    "mnist": (("svm_accuracy", 3), *_LOSS_COLUMNS),
}


def entry_sort_key(entry):
    """Sort key putting zoo entries in the zoo's order, unknown entries after, by name."""
    order = zoo.NAMES
    return (order.index(entry), "") if entry in order else (len(order), entry)


def _group_key(row, study):
    key = []
    for column in GROUP_COLUMNS[study]:
        value = row.get(column)
        key.append(float(value) if column != "entry" and value is not None else value)
    return (*key, results.option_values(row))


def option_columns(lines):
    """The `option.<name>` columns of rows or summary lines, sorted; [] when none has one.

    Example:
        >>> option_columns([{"entry": "fc"}, {"entry": "fc_beta_tcvae", "option.tc_weight": 2.0}])
        ['option.tc_weight']
    """
    return sorted({key for line in lines for key in line
                   if key.startswith(results.OPTION_PREFIX)})


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _numeric_columns(rows):
    columns = []
    for row in rows:
        for column, value in row.items():
            if (column not in _NOT_SUMMARIZED and column not in columns and _is_number(value)
                    and not column.startswith(results.OPTION_PREFIX)):
                columns.append(column)
    return columns


def std_key(column, ddof):
    """The summary column of a column's standard deviation: `<column>_std_ddof<ddof>`."""
    return f"{column}_std_ddof{ddof}"


def summarize(rows, study, ddof=1):
    """Means and standard deviations over seeds of every numeric column.

    Args:
        rows: list of flat dicts from `bvae_tf.results.records_table` (any study; rows of
            other studies are ignored).
        study: "shapes" (grouped by entry and beta) or "mnist" (entry, fraction, beta).
        ddof: 0 or 1, the standard deviation's delta degrees of freedom. Defaults to 1.

    Returns:
        list of dicts sorted by entry (zoo order), fraction, options and beta, each with the
        group columns (and `option.<name>` where the group has one), `seeds` (number of records), `ddof`, and `<column>_mean` and
        `std_key(column, ddof)` for every numeric column (NaN where no record of the group
        has the column, or, for the standard deviation, fewer than `ddof + 1` do).

    Raises:
        ValueError: if `study` is unknown.
    """
    if study not in GROUP_COLUMNS:
        raise ValueError(f"Unknown study {study!r}: expected one of {tuple(GROUP_COLUMNS)}.")
    rows = [row for row in rows if row.get("study") == study]
    columns = _numeric_columns(rows)
    groups = {}
    for row in rows:
        groups.setdefault(_group_key(row, study), []).append(row)
    summary = []
    for key, members in groups.items():
        line = dict(zip(GROUP_COLUMNS[study], key))
        line.update({results.OPTION_PREFIX + name: value for name, value in key[-1]})
        line["seeds"], line["ddof"] = len(members), ddof
        for column in columns:
            values = [row[column] for row in members if _is_number(row.get(column))]
            line[f"{column}_mean"] = float(np.mean(values)) if values else math.nan
            line[std_key(column, ddof)] = (float(np.std(values, ddof=ddof))
                                           if len(values) > ddof else math.nan)
        summary.append(line)
    return sorted(summary, key=lambda line: (entry_sort_key(line["entry"]),
                                             line.get("fraction") or 0.0,
                                             results.option_values(line), line["beta"]))


def format_mean_std(mean, std, decimals=3):
    """Text of a `mean ± std` cell, both to `decimals` places; "-" for a missing mean.

    Example:
        >>> format_mean_std(0.71234, 0.0312), format_mean_std(123.456, 2.0, 1)
        ('0.712 ± 0.031', '123.5 ± 2.0')
        >>> format_mean_std(0.5, float("nan"))
        '0.500 ± n/a'
    """
    if mean is None or not math.isfinite(mean):
        return "-"
    spread = f"{std:.{decimals}f}" if std is not None and math.isfinite(std) else "n/a"
    return f"{mean:.{decimals}f} ± {spread}"


def format_beta(beta):
    """Text of a beta or a fraction: shortest exact form ("0.2", "4")."""
    return f"{beta:g}"


def markdown_table(summary, study):
    """The summary as a markdown table of `mean ± std` cells (columns `MARKDOWN_COLUMNS`).

    Args:
        summary: list of dicts from `summarize(rows, study)`.
        study: "shapes" or "mnist".

    Returns:
        str, a markdown table (header, separator, one line per summary row).

    Example:
        >>> summary = [{"entry": "fc", "beta": 4.0, "seeds": 2, "ddof": 1, "mig_mean": 0.1,
        ...             "mig_std_ddof1": 0.02}]
        >>> print(markdown_table(summary, "shapes"))
        | entry | beta | seeds | mig |
        |---|---|---|---|
        | fc | 4 | 2 | 0.100 ± 0.020 |
    """
    columns = [(column, decimals) for column, decimals in MARKDOWN_COLUMNS[study]
               if any(f"{column}_mean" in line for line in summary)]
    options = option_columns(summary)
    header = [*GROUP_COLUMNS[study][:-1], *(key[len(results.OPTION_PREFIX):] for key in options),
              "beta", "seeds", *(column for column, _ in columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for line in summary:
        cells = [line["entry"]] + [format_beta(line[key]) if line.get(key) is not None else "-"
                                   for key in (*GROUP_COLUMNS[study][1:-1], *options, "beta")]
        cells.append(str(line["seeds"]))
        cells += [format_mean_std(line.get(f"{column}_mean"),
                                  line.get(std_key(column, line["ddof"])), decimals)
                  for column, decimals in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
