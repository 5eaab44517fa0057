"""Zoo cards: one page per zoo entry in the top-level `zoo/` folder, from reference records.

The reference runs train each entry by the paper's full protocol (the paper profile: all
the data, early stopping, no epoch cap, every metric). Their records are committed under
`zoo/records/<study>/`; `collect` copies them there from a results directory and draws one
reference model's reconstructions and traversals into `zoo/images/`. `write_cards` then
writes `zoo/<entry>.md` and `zoo/README.md` from those files alone: the architecture and its
parameter count, where each number comes from, the reference results (per seed, and mean
and spread over seeds), the images, and the command that reproduces each row. Cards are
never edited by hand: `bvae-tf zoo cards` regenerates them byte for byte.

Example:
    $ bvae-tf zoo collect --results runs/reference-mnist   # records and images into zoo/
    $ bvae-tf zoo cards                                    # zoo/*.md from zoo/records
"""

import json
import math
import pathlib
import shutil
import zipfile

from bvae_tf import results, serving, zoo
from bvae_tf.reports import figures, objective_cards, samples, tables

CARD_NOTE = ("<!-- Written by `bvae-tf zoo cards` from zoo/records and bvae_tf/zoo.py; "
             "do not edit by hand. -->")
IMAGE_KINDS = ("reconstructions", "traversals")
# The reference encoders served from the repository's `saved_models/`: 13 MB in all. A shapes
# encoder does not fit a 30 MB budget beside them (float32: conv 34 MB, fc 26 MB).
SERVED = tuple(results.trial_name(entry, beta, 0, 0.1) for entry in ("mnist_conv", "mnist_fc")
               for beta in (0.0, 1.0, 4.0))
# The paper's figure drawn on each card, by study: `zoo/images/<entry>-<figure>.png`.
FIGURES = {"shapes": "figure1", "mnist": "figure2"}
STUDY_COLUMNS = {
    "shapes": (("beta_vae", "beta-VAE score"), ("mig", "MIG"), ("factor_vae", "FactorVAE"),
               ("dci", "DCI"), ("sap", "SAP")),
    "mnist": (("svm_accuracy", "SVM accuracy"),),
}


def default_zoo_dir():
    """The repository's `zoo/` folder (beside the `bvae_tf` package of a checkout)."""
    return pathlib.Path(__file__).resolve().parents[2] / "zoo"


def reference_records(zoo_dir=None):
    """The committed reference records of `zoo_dir` (default `default_zoo_dir()`); [] if none."""
    zoo_dir = pathlib.Path(zoo_dir or default_zoo_dir())
    return results.read_records(zoo_dir) if (zoo_dir / "records").is_dir() else []


# The paper profile's settings a reference must have been trained and scored with (the
# fields resolved on the training machine, such as precision "auto", are left out).
PROTOCOL_KEYS = ("max_epochs", "patience", "batch_size", "train_fraction", "validation_size",
                 "batch_norm_momentum", "validation_statistics", "validation_noise",
                 "shapes_split", "metric_samples", "mnist_subset_rounding", "metrics",
                 "metric_options")


def reference_problem(record):
    """Why a record is not a reference of the zoo, or None if it is one.

    A reference was trained and scored by the paper profile's protocol, stopped early, says
    which machine trained it, and names the clean commit of the checkout that trained it
    (`code`): the card's command then reproduces it, bit for bit on one machine, killed and
    resumed or not. Records from before resume was bit for bit (December 2026) name no
    commit: the reference runner trains them again.

    Example:
        >>> reference_problem({"config": {"profile": "quick"}})
        "not trained by the paper profile (profile 'quick')"
    """
    from bvae_tf import profiles

    config, code = record.get("config") or {}, record.get("code") or {}
    if config.get("profile") != "paper":
        return f"not trained by the paper profile (profile {config.get('profile')!r})"
    try:
        name = results.trial_name(record["entry"], record["beta"], record["seed"],
                                  record.get("fraction"))
        study = zoo.entry(record["entry"]).dataset
    except (KeyError, TypeError, ValueError) as error:
        return f"its grid point is not readable ({error})"
    if name != record["trial_name"]:
        return f"its entry, beta, seed and fraction make {name!r}, not its trial_name"
    paper = profiles.get_profile("paper").settings(study).to_config()
    differing = [key for key in PROTOCOL_KEYS if config.get(key) != paper[key]]
    if differing:
        return (f"not the paper profile's protocol: {', '.join(differing)} differ (e.g. "
                f"{differing[0]} {config.get(differing[0])!r}, the paper's "
                f"{paper[differing[0]]!r})")
    if record.get("early_stopped") is not True:
        return "early stopping did not end its training"
    if not isinstance((record.get("machine") or {}).get("cpu"), str):
        return "it does not say which machine trained it"
    if not code.get("commit") or code.get("dirty") is not False:
        return "it names no clean commit of the code that trained it"
    return None


def model_problem(record, results_dir):
    """Why the record's saved model is not its entry's architecture, or None.

    Reads the `.keras` file's config (no TensorFlow); a record whose model is not in
    `results_dir` passes (there is nothing to check it against).

    Example:
        >>> model_problem({"model_path": None}, ".") is None
        True
    """
    relative = record.get("model_path")
    path = results.resolve_inside(results_dir, relative) if relative else None
    if path is None or not path.is_file():
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))["config"]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        return f"its model {path} cannot be read ({error})"
    expected = zoo.entry(record["entry"]).model_config()
    differing = sorted(key for key, value in expected.items()
                       if json.loads(json.dumps(value)) != config.get(key))
    if differing:
        return (f"its model {path} is not a {record['entry']} ({', '.join(differing)} "
                "differ)")
    return None


def is_reference(record):
    """Whether a record is a reference of the zoo (`reference_problem` finds nothing)."""
    return reference_problem(record) is None


def collect(results_dir, zoo_dir=None, seed=0):
    """Copies the reference records of a results directory into `zoo/records`.

    A record is taken when `is_reference` holds (`reference_problem` says why not), and
    replaces the zoo's record of the same trial; the encoders of the
    `SERVED` trials are copied into the repository's `saved_models/` (TF Serving's layout,
    with its `models.config`). Then, per entry, the reconstructions and
    traversals of the zoo's shown model (seed 0, the highest beta; MNIST at the largest
    fraction, over all the zoo's records) are drawn into `zoo/images/` when that model was
    trained in `results_dir`.

    Args:
        results_dir: str or path of the reference runs' results directory.
        zoo_dir: str, path or None (`default_zoo_dir()`).
        seed: int, draws the test images shown. Defaults to 0.

    Returns:
        list of the trial names copied.
    """
    results_dir = pathlib.Path(results_dir)
    zoo_dir = pathlib.Path(zoo_dir or default_zoo_dir())
    finished = [record for record in results.read_records(results_dir)
                if is_reference(record) and model_problem(record, results_dir) is None]
    for record in finished:
        results.write_record(zoo_dir, record)
    collected = {record["trial_name"] for record in finished}
    shown = [own[-1] for own in _by_entry(samples.default_trials(
        reference_records(zoo_dir))).values() if own[-1]["trial_name"] in collected]
    images = zoo_dir / "images"
    images.mkdir(parents=True, exist_ok=True)
    written, _ = samples.write_samples(results_dir, images, shown, seed,
                                       config=results.read_config(results_dir))
    for item in written:
        entry = item["record"]["entry"]
        for kind in IMAGE_KINDS:
            shutil.move(item[kind], images / f"{entry}-{kind}.png")
    _serve([record for record in finished if record["trial_name"] in SERVED], results_dir,
           zoo_dir.parent / "saved_models")
    return [record["trial_name"] for record in finished]


def _serve(records, results_dir, served_dir):
    """Copies the records' exported encoders into `served_dir` and rewrites its models.config."""
    for record in records:
        name = results.trial_name(record["entry"], record["beta"], record["seed"],
                                  record.get("fraction"))
        if name != record["trial_name"]:
            raise ValueError(f"The record {record['trial_name']!r} names entry, beta, seed and "
                             f"fraction of {name!r}: it was edited; train it again.")
        source = results.resolve_inside(results_dir, record["encoder_path"])
        target = served_dir / zoo.entry(record["entry"]).name / name / "1"
        staging = target.with_name(".1-collect")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(source, staging)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    if records:
        serving.write_model_config(served_dir, base_path="/models")


def _by_entry(records):
    """Records grouped by entry, each group in the given order (beta ascending here)."""
    groups = {}
    for record in records:
        groups.setdefault(record["entry"], []).append(record)
    return groups


def architecture_text(entry):
    """One line per network of an entry, e.g. "encoder 4096 -> 1200 -> 1200 -> 10 (+ 10)".

    Example:
        >>> architecture_text(zoo.entry("mnist_fc"))
        ['encoder 784 -> 512 -> 512 -> 16 (+ 16 log variances)', 'decoder 16 -> 512 -> 512 -> 512 -> 784 logits']
    """
    layers, pixels = entry.layers, math.prod(entry.image_shape)
    latent = entry.latent_dim
    if entry.architecture == "fc":
        encoder = [pixels, *layers["encoder_units"], latent]
        decoder = [latent, *layers["decoder_units"], pixels]
        return [f"encoder {' -> '.join(map(str, encoder))} (+ {latent} log variances)",
                f"decoder {' -> '.join(map(str, decoder))} logits"]
    convs = " -> ".join(f"conv 3x3/2 {filters}" for filters in layers["encoder_filters"])
    dense = " -> ".join(map(str, [*layers["encoder_units"], latent]))
    height, width, channels = layers["decoder_reshape"]
    transposed = " -> ".join(f"convT 3x3/2 {filters}" for filters in layers["decoder_filters"])
    stride = layers["output_strides"]
    return [f"encoder {convs} -> {dense} (+ {latent} log variances)",
            (f"decoder {' -> '.join(map(str, [latent, *layers['decoder_units']]))} -> "
            f"{height * width * channels} = {height}x{width}x{channels} -> {transposed} -> "
            f"convT 3x3/{stride} {entry.image_shape[-1]} logits")]


def parameter_count(name):
    """Trainable scalars of zoo entry `name` (built once, untrained; no speed probe)."""
    model = zoo.build(name, jit_compile=False, precision="float32")
    return sum(math.prod(variable.shape) for variable in model.trainable_variables)


def reproduce_command(record):
    """The command that reruns one reference trial by the paper's protocol (the runner)."""
    return f"bvae-tf zoo run --only {record['trial_name']}"


def _number(value, decimals=3):
    return "-" if value is None else f"{value:.{decimals}f}"


def _precision_text(config):
    """`float32`, `mixed_bfloat16`, with ` + XLA` where XLA compiled the step."""
    return config["precision"] + (" + XLA" if config["jit_compile"] else "")


def _results_section(name, records):
    entry = zoo.entry(name)
    metrics = [(key, label) for key, label in STUDY_COLUMNS[entry.dataset]
               if any(key in record["metrics"] for record in records)]
    fraction = ["fraction"] if entry.dataset == "mnist" else []
    header = [*fraction, "beta", "seed", "epochs", "best epoch", "early stopped", "precision",
              *(label for _, label in metrics), "val. reconstruction", "val. KL", "training",
              "command"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for record in sorted(records, key=lambda r: (r.get("fraction") or 0, r["beta"], r["seed"])):
        validation = record["losses"]["validation"]
        cells = [f"{record['fraction']:g}"] if fraction else []
        cells += [f"{record['beta']:g}", str(record["seed"]), str(record["epochs"]),
                  str(record["best_epoch"]), "yes" if record.get("early_stopped") else "no",
                  _precision_text(record["config"])]
        cells += [_number(record["metrics"].get(key)) for key, _ in metrics]
        cells += [_number(validation["reconstruction_loss"], 1), _number(validation["kl_loss"], 1),
                  f"{record.get('training_s', 0) / 60:.0f} min",
                  f"`{reproduce_command(record)}`"]
        lines.append("| " + " | ".join(cells) + " |")
    rows = results.records_table(records)
    summary = tables.summarize(rows, entry.dataset, ddof=1)
    lines += ["", "Mean ± standard deviation over seeds (ddof=1; n/a with one seed):", "",
              tables.markdown_table(summary, entry.dataset)]
    return "\n".join(lines)


def _cpu(record):
    return (record.get("machine") or {}).get("cpu", "unknown")


def card_text(name, records, images_dir):
    """The markdown of one entry's card (deterministic: the same inputs, the same text)."""
    entry = zoo.entry(name)
    own = [record for record in records if record["entry"] == name]
    lines = [f"# `{name}`", "", CARD_NOTE, "",
             (f"The paper's {'convolutional' if entry.architecture == 'conv' else 'fully connected'}"
             f" beta-VAE on {entry.dataset}{', trained to denoise' if entry.denoising else ''}: "
             f"`bvae_tf.zoo.{name}(beta=4.0)` builds it compiled."), "",
             "| | |", "|---|---|",
             f"| data | {entry.dataset}, images {'x'.join(map(str, entry.image_shape))} |"]
    lines += [f"| {'network' if index else 'architecture'} | {text} |"
              for index, text in enumerate(architecture_text(entry))]
    lines += [f"| trainable parameters | {parameter_count(name):,} |",
              f"| denoising | {'yes: salt-and-pepper inputs, clean targets' if entry.denoising else 'no'} |",
              "", "## Where each number comes from", ""]
    lines += [f"- **{key}**: {source}" for key, source in entry.sources.items()]
    lines += [("- **training and evaluation protocol**: the paper profile "
              "(`bvae_tf/profiles/paper.py`); each item's source in `docs/protocol.md`, "
              "including where the authors' code and Keras' defaults differ."), "",
              "## Reference results", ""]
    if own:
        trials = f"{len(own)} reference trial" + ("s" if len(own) > 1 else "")
        lines += [(f"{trials} by the paper's protocol (all the data, early "
                  "stopping with patience 5, no epoch cap), records in "
                  f"`zoo/records/{entry.dataset}/`. Trained on: "
                  f"{', '.join(sorted({_cpu(record) for record in own}))}."), "",
                  _results_section(name, own)]
    else:
        lines.append("No reference run has finished yet for this entry.")
    figure = f"{name}-{FIGURES[entry.dataset]}.png"
    if own and (images_dir / figure).is_file():
        number = FIGURES[entry.dataset][-1]
        lines += ["", f"![{name} Figure {number}](images/{figure})", "",
                  (f"The paper's Figure {number} for this entry, from the records above: the "
                   f"mean over seeds at each beta, error bars one standard deviation (ddof=1; "
                   f"none where a beta has one seed).")
                  + (" " + figures.BOTH_STATISTICS if any(
                      key.endswith(f".{results.RECALIBRATED}") for record in own
                      for key in record["metrics"]) else "")]
    shown = [kind for kind in IMAGE_KINDS if (images_dir / f"{name}-{kind}.png").is_file()]
    if shown:
        lines += ["", "## Reconstructions and latent traversals", "",
                  "Of one reference model (seed 0, its highest beta), on test images:", ""]
        lines += [f"![{name} {kind}](images/{name}-{kind}.png)" for kind in shown]
    return "\n".join(lines) + "\n"


def _draw_figure(name, own, images_dir):
    """Draws an entry's Figure 1 (shapes) or Figure 2 (MNIST) from its records, if any."""
    if not own:
        return None
    dataset = zoo.entry(name).dataset
    summary = tables.summarize(results.records_table(own), dataset, ddof=1)
    images_dir.mkdir(parents=True, exist_ok=True)
    path = images_dir / f"{name}-{FIGURES[dataset]}.png"
    draw = figures.figure1 if dataset == "shapes" else figures.figure2
    return draw(summary, path)


def write_cards(zoo_dir=None):
    """Writes the cards: a card and figure per paper entry, `README.md`, `objectives.md`.

    `zoo/<entry>.md` for every entry of `zoo.NAMES`, the index `zoo/README.md`, and
    `zoo/objectives.md` for the other objectives (`bvae_tf.reports.objective_cards`).

    Returns:
        list of the paths written.
    """
    zoo_dir = pathlib.Path(zoo_dir or default_zoo_dir())
    records = reference_records(zoo_dir)
    written = []
    for name in zoo.NAMES:
        _draw_figure(name, [record for record in records if record["entry"] == name],
                     zoo_dir / "images")
        path = zoo_dir / f"{name}.md"
        path.write_text(card_text(name, records, zoo_dir / "images"), encoding="utf-8")
        written.append(path)
    index = ["# The zoo", "", CARD_NOTE, "",
             ("One card per entry: architecture, sources, and results of reference runs by the "
             "paper's full protocol. Regenerate with `bvae-tf zoo cards`."), "",
             "| entry | data | reference trials |", "|---|---|---|"]
    for name in zoo.NAMES:
        count = sum(record["entry"] == name for record in records)
        index.append(f"| [{name}]({name}.md) | {zoo.entry(name).dataset} | {count} |")
    readme = zoo_dir / "README.md"
    readme.write_text("\n".join(index) + "\n", encoding="utf-8")
    objectives = zoo_dir / "objectives.md"
    objectives.write_text(objective_cards.card_text(parameter_count, CARD_NOTE),
                          encoding="utf-8")
    return [*written, readme, objectives]


__all__ = ["collect", "default_zoo_dir", "reference_records", "write_cards"]
