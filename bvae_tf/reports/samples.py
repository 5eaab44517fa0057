"""Reconstructions and latent traversals of saved models, on regenerated test images.

A model is read back from the results directory (`keras.saving.load_model` of the record's
`model_path`); test images come from the deterministic data caches
(`bvae_tf.data.shapes.load(...).test`, `bvae_tf.data.mnist.load_mnist(...).test`), drawn
with `random_state`, the same images for every model of a study.

Traversals follow Higgins et al. (2017): the mean code of one test image, with one latent
at a time set to each of `TRAVERSAL_VALUES` (-3 to 3, the prior's +-3 standard deviations)
and the others fixed, decoded. Rows are sorted by the latent's KL divergence from the
prior, averaged over test images, so informative latents come first; a latent the model
does not use has a KL near 0 and its row stays constant.
"""

import pathlib
import zipfile

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.utils import check_random_state

from bvae_tf import results
from bvae_tf.reports.tables import entry_sort_key

RECONSTRUCTION_COUNT = 10
KL_COUNT = 1000
TRAVERSAL_VALUES = np.linspace(-3.0, 3.0, 9)
DPI = 100


def default_trials(records):
    """The trials shown by default: per entry, the lowest and the highest beta.

    Each at the smallest seed (0 in every grid); for MNIST, at the largest training
    fraction.

    Args:
        records: list of record dicts.

    Returns:
        list of records, sorted by entry (zoo order) and beta.

    Example:
        >>> records = [{"entry": "fc", "beta": beta, "seed": seed, "trial_name": f"{beta}-{seed}"}
        ...            for beta in (0.0, 1.0, 4.0) for seed in (0, 1)]
        >>> [record["trial_name"] for record in default_trials(records)]
        ['0.0-0', '4.0-0']
    """
    chosen = []
    for entry in sorted({record["entry"] for record in records}, key=entry_sort_key):
        own = [record for record in records if record["entry"] == entry]
        fraction = max(record.get("fraction") or 0.0 for record in own)
        own = [record for record in own if (record.get("fraction") or 0.0) == fraction]
        seed = min(record["seed"] for record in own)
        own = sorted((record for record in own if record["seed"] == seed),
                     key=lambda record: record["beta"])
        chosen += [own[0]] if len(own) == 1 else [own[0], own[-1]]
    return chosen


def select_trials(records, chosen=None):
    """Records of the trials named in `chosen` (None: `default_trials(records)`).

    Raises:
        ValueError: if a name in `chosen` has no record (the known names are listed).
    """
    if chosen is None:
        return default_trials(records)
    names = [chosen] if isinstance(chosen, str) else list(chosen)
    by_name = {record["trial_name"]: record for record in records}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise ValueError(f"No record for the chosen trials {unknown}; choose among the "
                         f"finished trials: {sorted(by_name)}.")
    return [by_name[name] for name in names]


def test_images(study, count, random_state, shapes_cache_dir=None, mnist_path=None,
                split_seed=0):
    """`count` random test images of a study, float32 (count, H, W, 1) in [0, 1].

    Args:
        study: "shapes" or "mnist".
        count: int, number of images (at most the size of the test split).
        random_state: int, RandomState or None (`check_random_state`).
        shapes_cache_dir: str, path or None, see `bvae_tf.data.shapes.load`.
        mnist_path: str, path or None, see `bvae_tf.data.mnist.load_mnist`.
        split_seed: int, the seed of the shapes split the models were trained on (its test
            split is never trained on). Defaults to 0.

    Returns:
        (images, indices): the images and their int64 indices in the test split.
    """
    random_state = check_random_state(random_state)
    if study == "shapes":
        from bvae_tf.data import shapes

        split = shapes.load(cache_dir=shapes_cache_dir, seed=split_seed).test
    else:
        from bvae_tf.data import mnist

        split = mnist.load_mnist(mnist_path).test
    indices = random_state.choice(len(split), size=min(count, len(split)), replace=False)
    images = np.asarray(split.images[indices], dtype=np.float32)
    return (images[..., None] if images.ndim == 3 else images), indices.astype(np.int64)


def model_file(results_dir, record):
    """Path of the record's saved model, or None when the record or the file lacks it."""
    relative = record.get("model_path")
    path = results.resolve_inside(results_dir, relative) if relative else None
    return path if path is not None and path.is_file() else None


def load_model(path):
    """Loads a saved `.keras` beta-VAE (`import bvae_tf` registers its classes)."""
    import keras

    return keras.saving.load_model(path, compile=False)


def latent_kl(model, images):
    """Mean KL(q(z_i | x) || N(0, 1)) of each latent over `images`: float64 (latent_dim,)."""
    z_mean, z_log_var = model.distribution_parameters(images)
    z_mean, z_log_var = z_mean.astype(np.float64), z_log_var.astype(np.float64)
    return np.mean(0.5 * (z_mean**2 + np.exp(z_log_var) - z_log_var - 1.0), axis=0)


def mosaic(images, pad=2, pad_value=1.0):
    """Tiles images (rows, columns, H, W, C) into one image with `pad` pixels between.

    Returns a 2-D array for grey images (C = 1), else (height, width, C), e.g. RGB.

    Example:
        >>> mosaic(np.zeros((2, 3, 4, 4, 1)), pad=1).shape, mosaic(np.zeros((1, 2, 4, 4, 3))).shape
        ((9, 14), (4, 10, 3))
    """
    rows, columns, height, width, channels = images.shape
    tiled = np.full((rows * (height + pad) - pad, columns * (width + pad) - pad, channels),
                    pad_value, dtype=np.float32)
    for row in range(rows):
        for column in range(columns):
            top, left = row * (height + pad), column * (width + pad)
            tiled[top:top + height, left:left + width] = images[row, column]
    return tiled[..., 0] if channels == 1 else tiled


def _image_grid(images, row_labels, column_labels, title, path, pad=2):
    rows, columns, height, width = images.shape[:4]
    scale = 0.9 / max(height, width)  # inches per pixel: a tile is 0.9 inch wide
    figure = Figure(figsize=(scale * columns * (width + pad) + 1.4,
                             scale * rows * (height + pad) + 0.8), layout="constrained")
    axes = figure.add_subplot()
    # Clipped to [0, 1]: the means of a "gaussian" model may overshoot (RGB ignores vmin/vmax).
    axes.imshow(np.clip(mosaic(images, pad), 0.0, 1.0), cmap="gray", vmin=0.0, vmax=1.0,
                interpolation="nearest")
    axes.set_yticks([row * (height + pad) + height / 2 - 0.5 for row in range(rows)],
                    row_labels, fontsize="small")
    if column_labels is None:
        axes.set_xticks([])
    else:
        axes.set_xticks([column * (width + pad) + width / 2 - 0.5 for column in range(columns)],
                        column_labels, fontsize="small")
    axes.xaxis.tick_top()
    axes.tick_params(length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)
    axes.set_title(title, fontsize="medium")
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=DPI)
    return pathlib.Path(path)


def plot_reconstructions(model, images, path, title):
    """Writes a 2-row PNG: test images (top) and their reconstructions (bottom)."""
    reconstructions = model.reconstruct(images)
    grid = np.stack([images, reconstructions.reshape(images.shape)])
    return _image_grid(grid, ["input", "reconstruction"], None, title, path)


def plot_traversals(model, image, kl, path, title, values=TRAVERSAL_VALUES):
    """Writes a PNG with one row per latent, sorted by `kl` (largest first).

    Args:
        model: a beta-VAE with `encode` and `decode`.
        image: float32 (H, W, C), the test image whose mean code is traversed.
        kl: array (latent_dim,), the mean KL of each latent (sets the order and labels).
        path: str or Path of the PNG.
        title: str.
        values: 1-D array of the values given to each latent in turn.

    Returns:
        Path of the PNG.
    """
    code = model.encode(image[None])[0]
    order = np.argsort(-np.asarray(kl), kind="stable")
    codes = np.repeat(code[None, None], len(order), axis=0).repeat(len(values), axis=1)
    for row, latent in enumerate(order):
        codes[row, :, latent] = values
    decoded = model.decode(codes.reshape(-1, code.shape[0]))
    decoded = decoded.reshape(len(order), len(values), *image.shape)
    labels = [f"z{latent}\nKL {kl[latent]:.2f}" for latent in order]
    return _image_grid(decoded, labels, [f"{value:g}" for value in values], title, path)


def check_models(results_dir, trials):
    """Raises a ValueError naming the trials (chosen by name) whose saved model is missing."""
    missing = [f"{record['trial_name']} ({record.get('model_path')!r})" for record in trials
               if model_file(results_dir, record) is None]
    if missing:
        raise ValueError(f"No saved model in {results_dir} for the chosen trials {missing}; "
                         "choose trials whose models were saved (models/<study>/<trial>/"
                         "model.keras).")


def check_archives(results_dir, trials):
    """Raises a ValueError naming every saved model that is not a complete `.keras` archive.

    Run before anything is drawn, so a damaged file stops the report before it is half
    written.
    """
    damaged = []
    for record in trials:
        path = model_file(results_dir, record)
        if path is None:
            continue
        try:
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
        except (zipfile.BadZipFile, OSError) as error:
            bad = str(error)
        if bad is not None:
            damaged.append(f"{path} ({bad})")
    if damaged:
        raise ValueError(f"Damaged saved models: {damaged}. Delete the trial's record and "
                         "models/<study>/<trial>/ and rerun the sweep to retrain it, or leave "
                         "it out with --trials.")


def split_seed_of(record, config):
    """The shapes split seed a record's model was trained on (record, else `config.json`)."""
    seed = (record.get("config") or {}).get("split_seed")
    return int(config.get("shapes_split_seed", 0) if seed is None else seed)


def write_samples(results_dir, out_dir, trials, seed=0, shapes_cache_dir=None,
                  mnist_path=None, config=None):
    """Writes `reconstructions-<trial>.png` and `traversals-<trial>.png` for some trials.

    Args:
        results_dir: Path of the results directory (model paths are relative to it).
        out_dir: Path of the folder receiving the PNGs.
        trials: list of records (`select_trials`); a trial without a saved model is skipped.
        seed: int, draws the test images (the same for every model of a study).
        shapes_cache_dir: str, path or None, the shapes cache.
        mnist_path: str, path or None, the MNIST file.
        config: dict, the results directory's `config.json` (for the shapes split seed of
            records that do not state theirs), or None.

    Returns:
        (written, notes): `written` is a list of dicts with `trial_name`, `record`,
        `reconstructions` and `traversals` (Paths); `notes` names the skipped trials.
    """
    written, notes, images = [], [], {}
    for record in trials:
        name, study = record["trial_name"], record["study"]
        path = model_file(results_dir, record)
        if path is None:
            notes.append(f"{name}: no saved model at {record.get('model_path')!r}")
            continue
        key = (study, split_seed_of(record, config or {}))
        if key not in images:
            images[key] = test_images(study, KL_COUNT, seed, shapes_cache_dir, mnist_path,
                                      split_seed=key[1])
        batch, indices = images[key]
        model = load_model(path)
        written.append({
            "trial_name": name, "record": record,
            "reconstructions": plot_reconstructions(
                model, batch[:RECONSTRUCTION_COUNT], pathlib.Path(out_dir) /
                f"reconstructions-{name}.png", f"{name}: test images and reconstructions"),
            "traversals": plot_traversals(
                model, batch[0], latent_kl(model, batch),
                pathlib.Path(out_dir) / f"traversals-{name}.png",
                f"{name}: traversals of test image {indices[0]} (rows by mean KL)"),
        })
    return written, notes
