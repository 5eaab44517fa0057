"""The text of report.md: what was run (against the paper's profile), figures, tables, files.

Example:
    >>> format_values([0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2])
    '0 to 1.2 step 0.2 (7 values)'
    >>> format_values([0, 1, 4])
    '0, 1, 4 (3 values)'
"""

import inspect
import json

import numpy as np

from bvae_tf.reports.tables import entry_sort_key, format_beta

# Per study: (row label, config.json key, record key or None) of the "what was run" table.
GRID_ROWS = {
    "shapes": (("entries", "shapes_entries", "entry"), ("betas", "shapes_betas", "beta"),
               ("seeds", "shapes_seeds", "seed")),
    "mnist": (("entries", "mnist_entries", "entry"), ("betas", "mnist_betas", "beta"),
              ("training fractions", "mnist_fractions", "fraction"),
              ("seeds", "mnist_seeds", "seed")),
}
SETTING_ROWS = {
    "shapes": (("epoch cap", "max_epochs"), ("training data", "train_fraction"),
               ("validation images", "validation_size"), ("metrics", "metrics")),
    "mnist": (("epoch cap", "mnist_max_epochs"),),
}
STUDY_TITLES = {"shapes": "Shapes", "mnist": "MNIST"}
# Profile fields where the authors' code and Keras' defaults differ (docs/protocol.md).
FIDELITY_KEYS = ("batch_norm_momentum", "validation_statistics", "validation_noise",
                 "shapes_split", "metric_samples", "mnist_subset_rounding", "std_ddof")
# Every profile field but its name and note, as the "cuts" list of report.md labels it.
PROFILE_LABELS = {
    "shapes_entries": "shapes entries", "shapes_betas": "shapes betas",
    "shapes_seeds": "shapes seeds", "train_fraction": "shapes training data (fraction of the "
    "split)", "max_epochs": "shapes epoch cap", "validation_size": "shapes validation images",
    "patience": "early-stopping patience", "batch_size": "batch size",
    "learning_rate": "learning rate", "precision": "precision", "jit_compile": "XLA",
    "input_pipeline": "input pipeline", "metrics": "metrics",
    "metric_options": "metric sample sizes", "recalibrated_scores": "recalibrated scores",
    "mnist_entries": "MNIST entries", "mnist_betas": "MNIST betas",
    "mnist_fractions": "MNIST training fractions", "mnist_seeds": "MNIST seeds",
    "mnist_max_epochs": "MNIST epoch cap", "std_ddof": "error bars' ddof",
    "batch_norm_momentum": "batch-norm momentum",
    "validation_statistics": "validation batch-norm statistics",
    "validation_noise": "validation noise", "shapes_split": "shapes split",
    "metric_samples": "metric samples", "mnist_subset_rounding": "MNIST subset rounding",
}
_NONE_TEXT = {"max_epochs": "none (early stopping alone)",
              "mnist_max_epochs": "none (early stopping alone)",
              "validation_size": "all"}


def format_values(values):
    """Short text of a list of grid values: all of them, or `first to last step s`."""
    if not values:
        return "-"
    if isinstance(values[0], str):
        return ", ".join(sorted(values, key=entry_sort_key))
    values = sorted(values)
    steps = np.diff(values)
    if len(values) > 6 and np.allclose(steps, steps[0]):
        text = f"{values[0]:g} to {values[-1]:g} step {steps[0]:.6g}"
    else:
        text = ", ".join(format_beta(value) for value in values)
    return f"{text} ({len(values)} value{'s' if len(values) > 1 else ''})"


def _setting(key, value):
    if value is None:
        return _NONE_TEXT.get(key, "none")
    if key == "train_fraction":
        return f"{100 * value:g}% of the training split"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _normalized(values):
    """A set of grid values comparable across JSON files (4 and 4.0 are the same beta)."""
    return {round(float(value), 6) if isinstance(value, (int, float)) else value
            for value in values}


def _grid_size(config, study):
    size = 1
    for _, key, _ in GRID_ROWS[study]:
        if not isinstance(config.get(key), list):
            return None
        size *= len(config[key])
    return size


def _planned_text(config, study):
    size = _grid_size(config, study)
    return "?" if size is None else str(size)


def _option_rows(records):
    """Rows of the entries' own hyperparameters the records set (`bvae-tf sweep --param`).

    Example:
        >>> _option_rows([{"options": {"tc_weight": weight}} for weight in (1.0, 5.0)] + [{}])
        ['| tc_weight (--param) | 1, 5 (2 values) | - |']
    """
    chosen = [record.get("options") or {} for record in records]
    return [f"| {name} (--param) | "
            f"{format_values(sorted({options[name] for options in chosen if name in options}))}"
            " | - |" for name in sorted({name for options in chosen for name in options})]


def study_table(study, records, config, paper):
    """Markdown table comparing a study's grid and settings with the paper profile.

    Args:
        study: "shapes" or "mnist".
        records: list of the study's records.
        config: dict from `<results>/config.json` (may be empty).
        paper: dict, `bvae_tf.profiles.get_profile("paper").to_config()`.

    Returns:
        str, a markdown table with a line under it giving the share of the paper's grid.
    """
    lines = ["| | this run | paper profile |", "|---|---|---|"]
    for label, key, record_key in GRID_ROWS[study]:
        finished = sorted({record.get(record_key) for record in records},
                          key=lambda value: (value is None, value))
        planned = config.get(key)
        text = format_values(finished)
        if isinstance(planned, list) and _normalized(planned) != _normalized(finished):
            text = f"{format_values(planned)}; finished: {text}"
        lines.append(f"| {label} | {text} | {format_values(paper[key])} |")
    lines += _option_rows(records)
    lines.append(f"| trials | {len(records)} finished of {_planned_text(config, study)} "
                 f"planned | {_grid_size(paper, study)} |")
    for label, key in SETTING_ROWS[study]:
        used = config[key] if key in config else _record_setting(records, key)
        lines.append(f"| {label} | {_setting(key, used)} | {_setting(key, paper[key])} |")
    epochs = [record["epochs"] for record in records if record.get("epochs") is not None]
    if epochs:
        lines.append(f"| epochs run | mean {np.mean(epochs):.1f} (min {min(epochs)}, max "
                     f"{max(epochs)}) | until early stopping |")
    share = 100 * len(records) / _grid_size(paper, study)
    return "\n".join(lines) + (f"\n\nThis run holds {len(records)} trials, {share:.3g}% of the "
                               f"paper's {_grid_size(paper, study)}.")


def _record_setting(records, key):
    """The setting `key` from the records' configs: "?" if absent, "varies" if they differ."""
    values = {json.dumps(record["config"][key]) for record in records
              if key in (record.get("config") or {})}
    if not values:
        return "?"
    return json.loads(values.pop()) if len(values) == 1 else "varies"


def run_section(results_dir, config, records, paper):
    """The "What was run" section: profile, trial counts and a table per study."""
    name = config.get("name", "unknown") if config else "unknown (no config.json)"
    lines = ["## What was run", "",
             (f"Profile **{name}** (`{results_dir / 'config.json'}`); {len(records)} finished "
             "trials. The paper profile trains on the full data with no epoch cap: shapes "
             "26 betas x 5 seeds x 4 entries (520 models), MNIST 41 betas x 3 fractions x "
             "5 seeds per entry.")]
    for study in ("shapes", "mnist"):
        own = [record for record in records if record["study"] == study]
        lines += ["", f"### {STUDY_TITLES[study]} study", ""]
        lines.append(study_table(study, own, config, paper) if own else
                     f"No {study} records.")
    if config:
        lines += ["", departures_text(config, paper), "", cuts_text(config, paper)]
        if config.get("note"):
            lines += ["", f"Why: {config['note']}"]
        lines += ["", "<details><summary>config.json</summary>", "", "```json",
                  json.dumps(config, indent=1, sort_keys=True), "```", "", "</details>"]
    return "\n".join(lines)


def departures_text(config, paper):
    """Where a profile departs from the authors' choices (the paper profile's), in words.

    Example:
        >>> departures_text({"batch_norm_momentum": 0.99}, {"batch_norm_momentum": 0.999})
        "Departs from the authors' protocol in: batch_norm_momentum = 0.99 (the authors: 0.999). See docs/protocol.md, Departures."
    """
    differing = [f"{key} = {config[key]} (the authors: {paper[key]})" for key in FIDELITY_KEYS
                 if key in config and key in paper and config[key] != paper[key]]
    if "beta_vae" in (config.get("metrics") or ()):
        ours = _stopping_rule(config)
        if ours != _stopping_rule(paper):
            differing.append(f"the beta-VAE score's classifier stops after {ours[0]} epochs "
                             f"without improvement, at most {ours[1]} epochs (the authors: "
                             f"{_stopping_rule(paper)[0]}, no cap)")
    if not differing:
        return ("Follows the authors' choices wherever their code and Keras' defaults differ "
                "(docs/protocol.md, Departures).")
    return ("Departs from the authors' protocol in: " + "; ".join(differing)
            + ". See docs/protocol.md, Departures.")


def cuts_text(config, paper):
    """Every setting where a profile departs from the paper profile, one bullet each.

    Example:
        >>> print(cuts_text({"shapes_seeds": [0, 1], "learning_rate": 0.001},
        ...                 {"shapes_seeds": [0, 1, 2, 3, 4], "learning_rate": "auto"}))
        Every setting where this run departs from the paper profile (this run; the paper profile):
        - shapes seeds: 0, 1 (2 values); 0, 1, 2, 3, 4 (5 values)
        - learning rate: 0.001 at every beta; the entry's (1e-3; 3e-5 at beta 0 for fc, conv, fc_denoising and conv_denoising)
    """
    lines = []
    for key, label in PROFILE_LABELS.items():
        if key not in config or key not in paper or config[key] == paper[key]:
            continue
        if key == "metric_options":
            lines += _metric_option_cuts(config, paper)
            continue
        ours, theirs = (_profile_value(key, value) for value in (config[key], paper[key]))
        lines.append(f"- {label}: {ours}; {theirs}")
    if not lines:
        return "This run uses every setting of the paper profile."
    heading = ("Every setting where this run departs from the paper profile (this run; the "
               "paper profile):")
    return "\n".join([heading, *lines])


def _profile_value(key, value):
    if key == "learning_rate":
        return ("the entry's (1e-3; 3e-5 at beta 0 for fc, conv, fc_denoising and "
                "conv_denoising)" if value == "auto" else f"{value:g} at every beta")
    if key == "precision" and value == "auto":
        return "auto (mixed_bfloat16 where it measured faster here, else float32)"
    if isinstance(value, bool) or key == "jit_compile":
        return {True: "on", False: "off"}.get(value, "auto (where it measured faster here)")
    if isinstance(value, list):
        return format_values(value) if value and not isinstance(value[0], str) \
            else ", ".join(value)
    return _setting(key, value)


def _metric_option_cuts(config, paper):
    """'- beta_vae samples: num_train 1,000 ...; num_train 35,001 ...' per metric that differs."""
    from bvae_tf import metrics

    lines = []
    for name in config.get("metrics") or ():
        ours, theirs = ((options.get("metric_options") or {}).get(name, {})
                        for options in (config, paper))
        if ours == theirs:
            continue
        defaults = {key: parameter.default for key, parameter in
                    inspect.signature(metrics.METRICS[name]).parameters.items()}
        keys = sorted(set(ours) | set(theirs))
        sizes = [", ".join(f"{key} {_count(key, options.get(key, defaults.get(key)))}"
                           for key in keys) for options in (ours, theirs)]
        lines.append(f"- {name} samples: {sizes[0]}; {sizes[1]}")
    return lines


def _count(key, value):
    if value is None:
        return "the protocol's default" if key.startswith("num_") else "none"
    return f"{value:,}"


def _stopping_rule(config):
    """(patience, epoch cap) of the beta-VAE score's classifier in a profile's config."""
    options = (config.get("metric_options") or {}).get("beta_vae") or {}
    return options.get("patience", 20), options.get("max_epochs", 10_000)


def samples_section(written, notes, default_choice=True):
    """The reconstructions and traversals section: each trial's two images embedded."""
    which = ("per zoo entry, the lowest and the highest beta at seed 0 (MNIST: at the "
             "largest training fraction)" if default_choice else "the trials chosen")
    lines = ["## Reconstructions and latent traversals", "", f"Trials shown: {which}.", "",
             ("Reconstructions: test images (top row) and the decoded means of their codes. "
             "Traversals: the mean code of one test image, one latent at a time set to -3 ... "
             "3 (the prior's +-3 std) and decoded; rows sorted by the latent's mean KL from "
             "the prior over 1,000 test images, so informative latents come first.")]
    for item in written:
        record = item["record"]
        fraction = record.get("fraction")
        where = f", fraction {fraction:g}" if fraction is not None else ""
        lines += ["", (f"### {item['trial_name']} ({record['entry']}, beta "
                      f"{format_beta(record['beta'])}{where}, seed {record['seed']})"), "",
                  f"![reconstructions]({item['reconstructions'].name})", "",
                  f"![traversals]({item['traversals'].name})"]
    if not written:
        lines += ["", "No saved model to show."]
    if notes:
        lines += ["", "Skipped:", ""] + [f"- {note}" for note in notes]
    return "\n".join(lines)
