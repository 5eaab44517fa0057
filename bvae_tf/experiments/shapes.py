"""One trial of the paper's shapes study: train a zoo entry, export its encoder, score it.

A trial trains `bvae_tf.zoo.get(entry)(beta=beta, seed=seed)` on the pipelines of
`bvae_tf.experiments.pipelines.make_datasets` (noisy inputs for the denoising entries) until
early stopping or the profile's epoch cap, writes `model.keras`, `history.json` and `logs/`
under `<results>/models/shapes/<trial_name>/`, exports the encoder to
`<results>/saved_models/<entry>/<trial_name>/1/` and computes the profile's metrics on the
exported SavedModel (so the scored encoder is the served one).

References:
    Peychev, Velickovic and Lio (2017), section 4 and Figure 1 (beta-VAE score against beta
    for the fully connected and convolutional, plain and denoising, models).
"""

import pathlib
import time

from bvae_tf import results

STUDY = "shapes"


def run_trial(entry, beta, seed, data, results_dir, profile, verbose=0):
    """Runs one trial of the shapes study and returns its record (not written).

    Args:
        entry: str, a shapes zoo entry ("fc", "conv", "fc_denoising", "conv_denoising").
        beta: float >= 0, the KL weight.
        seed: int, seeds the model, the epoch orders, the noise and the metric samples.
        data: `bvae_tf.data.shapes.ShapesData` (`bvae_tf.data.shapes.load()`).
        results_dir: str or path of the results directory.
        profile: `bvae_tf.profiles.Profile`: `max_epochs`, `train_fraction`,
            `validation_size`, `batch_size`, `patience`, `jit_compile`, `learning_rate`, `metrics`,
            `metric_options`.
        verbose: int, Keras' `fit` verbosity. Defaults to 0.

    Returns:
        dict, the record (schema in the results section of the design): losses at the best
        epoch (1-based `best_epoch`, lowest `val_loss`), metrics, and paths relative to
        `results_dir`.

    Raises:
        ValueError: `entry` is not a shapes zoo entry.
        bvae_tf.training.NaNLossError: the loss became NaN.

    Example:
    >>> from bvae_tf import profiles
    >>> from bvae_tf.data import shapes
    >>> record = run_trial("fc", 4.0, 0, shapes.load(), "runs/demo",  # doctest: +SKIP
    ...                    profiles.get_profile("quick"))
    >>> record["trial_name"], sorted(record["metrics"])[:1]  # doctest: +SKIP
    ('fc-beta4.0-seed0', ['beta_vae'])
    """
    from bvae_tf import export, metrics, training, zoo
    from bvae_tf.experiments import pipelines

    if zoo.dataset_of(entry) != STUDY:
        raise ValueError(f"run_trial trains shapes zoo entries; got {entry!r}, an MNIST "
                         "entry: use bvae_tf.experiments.mnist.run_trial for it.")
    start = time.perf_counter()
    results_dir = pathlib.Path(results_dir)
    name = results.trial_name(entry, beta, seed)
    model_dir = results_dir / "models" / STUDY / name
    model = zoo.get(entry)(beta=beta, seed=seed, jit_compile=profile.jit_compile,
                           learning_rate=profile.learning_rate)
    train_ds, validation_ds = pipelines.make_datasets(
        data, entry, seed=seed, train_fraction=profile.train_fraction,
        batch_size=profile.batch_size, validation_size=profile.validation_size)
    history = training.fit(model, train_ds, validation_ds, max_epochs=profile.max_epochs,
                           patience=profile.patience, log_dir=model_dir / "logs",
                           verbose=verbose).history
    _save_model(model, history, model_dir)
    encoder_dir = export.export_encoder(model, results_dir / "saved_models" / entry, name,
                                        version=1, overwrite=True)
    scores = {}
    if profile.metrics:
        encoder = export.load_encoder(encoder_dir, batch_size=profile.batch_size)
        options = {name: dict(value) for name, value in profile.metric_options.items()
                   if name in profile.metrics}
        scores = metrics.compute(profile.metrics, data, encoder, seed, **options)
    record = {"study": STUDY, "trial_name": name, "entry": entry, "beta": float(beta),
              "seed": int(seed), "fraction": None, "config": _config(profile, train_ds),
              "versions": results.versions(), **training.summarize_history(history),
              "metrics": {key: _plain(value) for key, value in scores.items()},
              "model_path": _relative(model_dir / "model.keras", results_dir),
              "encoder_path": _relative(encoder_dir, results_dir)}
    record["wall_time_s"] = round(time.perf_counter() - start, 3)
    return record


def _config(profile, train_ds):
    return {"max_epochs": profile.max_epochs, "train_fraction": profile.train_fraction,
            "validation_size": profile.validation_size, "batch_size": profile.batch_size,
            "patience": profile.patience, "jit_compile": profile.jit_compile,
            "learning_rate": profile.learning_rate,
            "metrics": list(profile.metrics),
            "metric_options": profile.to_config()["metric_options"],
            "train_batches": int(train_ds.cardinality())}


def _save_model(model, history, model_dir):
    model_dir.mkdir(parents=True, exist_ok=True)
    model.save(model_dir / "model.keras")
    per_epoch = {key: [float(value) for value in values] for key, values in history.items()}
    results.atomic_write_json(model_dir / "history.json", per_epoch)


def _relative(path, root):
    return pathlib.Path(path).resolve().relative_to(root.resolve()).as_posix()


def _plain(value):
    return value.item() if hasattr(value, "item") else value


__all__ = ["run_trial"]
