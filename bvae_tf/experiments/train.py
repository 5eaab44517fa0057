"""Train one zoo entry as the paper did and write its artifacts (`bvae-tf train`).

Writes, under `out`: `model.keras` (the full model, best weights), `saved_model/<entry>/1/`
(the exported encoder, TF Serving layout), `history.json` (per-epoch losses and a summary)
and `logs/` (TensorBoard and `training.csv`).
"""

import json
import os
import pathlib

from bvae_tf import export, training, zoo
from bvae_tf.experiments import pipelines


def load_data(entry, cache_dir=None, mnist_path=None):
    """Returns the dataset zoo entry `entry` trains on (shapes grid or MNIST)."""
    if zoo.dataset_of(entry) == "mnist":
        from bvae_tf.data import mnist

        return mnist.load_mnist(mnist_path)
    from bvae_tf.data import shapes

    return shapes.load(cache_dir=cache_dir)


def run(entry, beta, seed, out, max_epochs=None, train_fraction=None, cache_dir=None,
        validation_size=None, verbose="auto", data=None):
    """Trains zoo entry `entry` at `beta` and writes its artifacts under `out`.

    Args:
        entry: str, a name in `bvae_tf.zoo.NAMES`.
        beta: float >= 0.
        seed: int, seeds the model and the pipelines.
        out: path of the output directory (created; existing artifacts are replaced).
        max_epochs: int or None (no cap: early stopping ends training, the paper).
        train_fraction: float in (0, 1] or None; see `pipelines.make_datasets`.
        cache_dir: shapes cache directory or None (`shapes.load`'s default).
        validation_size: int or None (the paper's); see `pipelines.make_datasets`.
        verbose: Keras verbosity. Defaults to "auto" (progress bar).
        data: the loaded dataset, or None to load it (`load_data`).

    Returns:
        dict, the summary written to `history.json`.

    Raises:
        bvae_tf.training.NaNLossError: if training diverges.
    """
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = load_data(entry, cache_dir) if data is None else data
    model = zoo.get(entry)(beta=beta, seed=seed)
    train_ds, validation_ds = pipelines.make_datasets(
        data, entry, seed=seed, train_fraction=train_fraction, validation_size=validation_size
    )
    history = training.fit(
        model, train_ds, validation_ds, max_epochs=max_epochs, log_dir=out / "logs",
        verbose=verbose,
    )
    model.save(out / "model.keras")
    export.export_encoder(model, out / "saved_model", entry, overwrite=True)
    summary = summarize(history.history, entry=entry, beta=beta, seed=seed,
                        train_fraction=train_fraction)
    _write_json(out / "history.json", summary)
    return summary


def summarize(history, **fields):
    """Returns `fields` plus epochs, best epoch (1-based) and the per-epoch history."""
    history = {key: [float(value) for value in values] for key, values in history.items()}
    validation = history.get("val_loss", [])
    best = min(range(len(validation)), key=validation.__getitem__) if validation else None
    return {
        **fields,
        "epochs": len(history.get("loss", [])),
        "best_epoch": None if best is None else best + 1,
        "best": None if best is None else {key: values[best] for key, values in history.items()},
        "history": history,
    }


def _write_json(path, content):
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(content, indent=2) + "\n")
    os.replace(temporary, path)
