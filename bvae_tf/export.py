"""Encoders as SavedModels in TF Serving's layout, and a loader that needs TensorFlow only.

Layout: `<directory>/<name>/<version>/` (saved_model.pb + variables/), the signature
`serving_default`: input `images` float32 [None, H, W, C], outputs `z_mean` and
`z_log_var` float32 [None, latent_dim]. Any TensorFlow program (or TF Serving) can serve
it without `bvae_tf`:

    encoder = tf.saved_model.load(path).signatures["serving_default"]
    z_mean = encoder(images=batch)["z_mean"]

The model's likelihood is saved beside the signature, as the variable collection
`likelihood` (a string variable; absent from encoders exported before it: "bernoulli"), so
that `Encoder` checks pixels as the model does: in [0, 1], or any finite value for "gaussian".

Encoders with batch norm also get a signature `batch_norm_inputs` and their moving
statistics as variables, so that `bvae_tf.recalibrated_export` can re-estimate them.

Example:
>>> import tempfile
>>> from bvae_tf import zoo
>>> model = zoo.mnist_fc(latent_dim=2)
>>> path = export_encoder(model, tempfile.mkdtemp(), "mnist_fc")
>>> path.parts[-2:]
('mnist_fc', '1')
>>> encoder = load_encoder(path.parent)  # the name directory: its latest version
>>> encoder(np.zeros((3, 28, 28, 1), "float32")).shape, encoder.latent_dim
((3, 2), 2)
"""

import os
import pathlib
import secrets
import shutil

import keras
import numpy as np
import tensorflow as tf

from bvae_tf import distributions, results
from bvae_tf.models import checks, recalibration

SIGNATURE = "serving_default"
INPUT = "images"
OUTPUTS = ("z_mean", "z_log_var")
LIKELIHOOD = "likelihood"
# What `bvae_tf.recalibrated_export` needs of an encoder with batch norm: a signature from
# images to each batch norm's input, and the layers' moving statistics in the same order.
BATCH_NORM_INPUTS = "batch_norm_inputs"
BATCH_NORM_STATISTICS = "batch_norm_statistics"


def export_encoder(model, directory, name, version=1, overwrite=False):
    """Writes the encoder of `model` as a SavedModel at `<directory>/<name>/<version>/`.

    Written atomically: into a staging directory `.<version>-<pid>-<random>` beside the
    target, then renamed. Staging directories left by a killed export (their process is
    gone) are hidden from `load_encoder` and `bvae_tf.serving`, and deleted by the next
    export of the same name.

    Args:
        model: a `bvae_tf.models.BetaVAE` (anything with `.encoder` and `.image_shape`).
        directory: path of the model base directory (TF Serving's `--model_base_path`
            parent).
        name: str, the model name (a directory).
        version: int >= 1, the version directory. Defaults to 1.
        overwrite: bool, whether to replace an existing version. Defaults to False.

    Returns:
        `pathlib.Path` of the version directory.

    Raises:
        FileExistsError: if the version exists and `overwrite` is False.
        ValueError: if `version` is not a positive int.
    """
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"version must be an int >= 1 (TF Serving's layout); got {version!r}.")
    target = pathlib.Path(directory) / results.check_name(name, "name") / str(version)
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"{target} exists; pass overwrite=True to replace it, or choose another version."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(target.parent)
    staging = target.parent / f".{version}-{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()  # the umask applies, as to any folder: readable by others by default
    try:
        _archive(model).write_out(os.fspath(staging / "saved_model"), verbose=False)
        _replace(staging / "saved_model", target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _archive(model):
    encoder = model.encoder
    spec = tf.TensorSpec([None, *model.image_shape], tf.float32, name=INPUT)

    def serve(images):
        outputs = encoder(images, training=False)
        return {key: outputs[key] for key in OUTPUTS}

    # No `archive.track(encoder)`: the endpoint tracks the variables it uses, and tracking the
    # encoder as well wrote every variable twice (Keras 3.15), doubling the SavedModel.
    archive = keras.export.ExportArchive()
    archive.add_endpoint(name=SIGNATURE, fn=serve, input_signature=[spec])
    likelihood = getattr(model, "likelihood", "bernoulli")
    archive.add_variable_collection(LIKELIHOOD, [tf.Variable(likelihood, trainable=False)])
    _add_batch_norm_access(archive, encoder, spec)
    return archive


def _add_batch_norm_access(archive, encoder, spec):
    """Adds the signature `batch_norm_inputs` (images -> `batch_norm_<i>`, the input of the
    i-th batch norm applied) and the variables `batch_norm_statistics` (moving mean,
    moving variance of layer 0, then of layer 1, ...); nothing without batch norm."""
    layers = recalibration.batch_norm_layers(encoder)
    if not layers:
        return
    probe = keras.Model(encoder.inputs[0], {
        f"batch_norm_{index}": layer.input for index, layer in enumerate(layers)})

    def batch_norm_inputs(images):
        return probe(images, training=False)

    archive.add_endpoint(name=BATCH_NORM_INPUTS, fn=batch_norm_inputs, input_signature=[spec])
    # The tf.Variables the signatures capture (`.value`), so that assigning them after
    # `tf.saved_model.load` changes `serving_default`; the Keras variables themselves would
    # be written a second time.
    archive.add_variable_collection(BATCH_NORM_STATISTICS, [
        variable.value for layer in layers for variable in (layer.moving_mean,
                                                            layer.moving_variance)])


def _remove_stale_staging(name_dir):
    """Deletes the `.<version>-<pid>-*` staging folders whose exporting process is gone."""
    for child in name_dir.glob(".*-*"):
        version, _, rest = child.name[1:].partition("-")
        pid = rest.partition("-")[0]
        if version.isdigit() and child.is_dir() and not _is_running(pid):
            shutil.rmtree(child, ignore_errors=True)


def _is_running(pid):
    """Whether `pid` (a str; staging folders from before pids were recorded have none) runs."""
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # it runs, as another user
        pass
    return True


def _replace(source, target):
    """Moves `source` to `target`; an existing `target` is swapped out, then deleted."""
    if not target.exists():
        os.rename(source, target)
        return
    trash = source.with_name(source.name + "-replaced")
    os.rename(target, trash)
    os.rename(source, target)
    shutil.rmtree(trash)


def load_encoder(path, batch_size=1000):
    """Loads an exported encoder with TensorFlow alone.

    Args:
        path: the version directory (`<directory>/<name>/<version>`), or the name
            directory, whose highest numbered version is loaded.
        batch_size: int, images per call of the SavedModel. Defaults to 1000.

    Returns:
        `Encoder`.

    Raises:
        FileNotFoundError: if `path` holds no SavedModel.
        ValueError: if the SavedModel is damaged (a truncated or altered file, missing
            variables: the message names the path and says to export it again), or lacks
            the `serving_default` signature, its `images` input or its `z_mean`/`z_log_var`
            outputs.
    """
    version_dir = _version_dir(pathlib.Path(path))
    loaded = _load_saved_model(version_dir)
    signatures = loaded.signatures
    if SIGNATURE not in signatures:
        raise ValueError(
            f"{version_dir} has no {SIGNATURE!r} signature (found {sorted(signatures)}); "
            f"expected an encoder written by bvae_tf.export.export_encoder."
        )
    return Encoder(signatures[SIGNATURE], version_dir, batch_size,
                   _likelihood(loaded, version_dir))


def _likelihood(loaded, version_dir):
    """The likelihood saved with an encoder: "bernoulli" when none was (older exports)."""
    saved = getattr(loaded, LIKELIHOOD, None)
    if saved is None:
        return "bernoulli"
    try:
        likelihood = saved[0].numpy().decode("utf-8")
    except (TypeError, IndexError, AttributeError, UnicodeDecodeError):
        likelihood = saved
    if likelihood not in distributions.LIKELIHOODS:
        raise ValueError(f"{version_dir} saves the likelihood {likelihood!r}, not one of "
                         f"{distributions.LIKELIHOODS}; export the encoder again with "
                         "bvae_tf.export.export_encoder.")
    return likelihood


def _load_saved_model(version_dir):
    """The SavedModel at `version_dir`; a damaged one raises ValueError."""
    try:
        loaded = tf.saved_model.load(os.fspath(version_dir))
        _check_fingerprint(version_dir)  # after the load: TF crashes on a graphless file
    except Exception as error:  # TF's loader fails on damaged files with a dozen types
        reason = (str(error).strip().splitlines() or [""])[0][:300]
        raise ValueError(
            f"The exported encoder at {version_dir} is damaged or incomplete "
            f"({type(error).__name__}: {reason}). Export it again: rerun the trial or "
            "command that wrote it, or call bvae_tf.export.export_encoder(model, directory, "
            "name, overwrite=True)."
        ) from error
    return loaded


def _check_fingerprint(version_dir):
    """Raises ValueError if `saved_model.pb` no longer matches the checksum in its fingerprint.

    TensorFlow checksums the variables as it restores them, but not the graph: of 150
    randomly altered copies of a `saved_model.pb`, 22 loaded. `fingerprint.pb` (written by
    TF >= 2.12) holds the graph's checksum, which TF's own fingerprinting module (internal,
    hence the pinned TensorFlow) recomputes; SavedModels without one are not checked.
    """
    if not (version_dir / "fingerprint.pb").is_file():
        return
    from tensorflow.core.protobuf import fingerprint_pb2
    from tensorflow.python.saved_model.pywrap_saved_model import fingerprinting

    stored = tf.saved_model.experimental.read_fingerprint(os.fspath(version_dir))
    fresh = fingerprint_pb2.FingerprintDef.FromString(
        fingerprinting.CreateFingerprintDef(os.fspath(version_dir))
    )
    if fresh.saved_model_checksum != stored.saved_model_checksum:
        raise ValueError("saved_model.pb does not match the checksum in fingerprint.pb")


def _version_dir(path):
    if (path / "saved_model.pb").is_file():
        return path
    versions = [child for child in path.iterdir() if child.name.isdigit()] if path.is_dir() else []
    versions = [child for child in versions if (child / "saved_model.pb").is_file()]
    if not versions:
        raise FileNotFoundError(
            f"No SavedModel at {path}: expected <directory>/<name>/<version>/saved_model.pb "
            f"(pass the version or the name directory)."
        )
    return max(versions, key=lambda child: int(child.name))


# The largest code a scorer takes: the metrics hold [samples, latent_dim] arrays.
MAX_LATENT_DIM = 4096


def _check_signature(images, outputs, path):
    """Refuses a signature bvae_tf cannot score: other dtypes, unknown or mismatched sizes."""
    problems = []
    if images.dtype != tf.float32:
        problems.append(f"its input {INPUT!r} is {images.dtype.name}, not float32")
    if images.shape.rank != 4 or None in images.shape[1:]:
        problems.append(f"its input {INPUT!r} has shape {images.shape}, not (batch, H, W, C)")
    for key in OUTPUTS:
        spec = outputs[key]
        if getattr(spec, "dtype", None) != tf.float32 or spec.shape.rank != 2:
            problems.append(f"its output {key!r} is {spec}, not float32 (batch, latent)")
    sizes = {outputs[key].shape[-1] for key in OUTPUTS if outputs[key].shape.rank == 2}
    if not problems and (None in sizes or len(sizes) != 1):
        problems.append(f"its latent size is {'unknown' if None in sizes else 'not one'} "
                        f"(z_mean {outputs['z_mean'].shape}, z_log_var "
                        f"{outputs['z_log_var'].shape})")
    elif not problems and sizes.pop() > MAX_LATENT_DIM:
        problems.append(f"its latent size {outputs['z_mean'].shape[-1]} is over "
                        f"{MAX_LATENT_DIM}, beyond what the metrics sample in memory")
    if problems:
        raise ValueError(f"The encoder at {path} cannot be scored: {'; '.join(problems)}. "
                         "Export an encoder with bvae_tf.export.export_encoder (float32 "
                         "images in, float32 codes of a fixed size out).")


class Encoder:
    """An exported encoder: callable on images, returning the posterior means.

    Images are checked before they reach the SavedModel, as in `BetaVAE.encode`: of the
    signature's image shape, finite, in [0, 1] unless the model's likelihood is "gaussian",
    of a real dtype other than uint8 (pass `images / 255` for 8-bit pixels); anything else
    raises a ValueError naming `images` and the fix.

    Attributes:
        path: `pathlib.Path` of the version directory.
        image_shape: tuple (H, W, C) the signature accepts.
        latent_dim: int.
        likelihood: str, the exported model's ("bernoulli" or "gaussian").

    Example: see the module docstring.
    """

    def __init__(self, signature, path, batch_size=1000, likelihood="bernoulli"):
        _, inputs = signature.structured_input_signature
        outputs = signature.structured_outputs
        if INPUT not in inputs or any(key not in outputs for key in OUTPUTS):
            raise ValueError(
                f"The {SIGNATURE!r} signature of {path} takes {sorted(inputs)} and returns "
                f"{sorted(outputs)}; expected input {INPUT!r} and outputs {list(OUTPUTS)}."
            )
        self.path = pathlib.Path(path)
        _check_signature(inputs[INPUT], outputs, self.path)
        self.image_shape = tuple(inputs[INPUT].shape[1:])
        self.latent_dim = int(outputs["z_mean"].shape[-1])
        self.batch_size = batch_size
        self.likelihood = likelihood
        self._signature = signature

    def __call__(self, images):
        """Returns the posterior means of `images` [N, H, W, C]: float32 numpy [N, latent]."""
        return self.distribution_parameters(images)[0]

    def distribution_parameters(self, images):
        """Returns `(z_mean, z_log_var)`, each float32 numpy [N, latent_dim].

        Args:
            images: array [N, H, W, C] (or [N, H, W] when C is 1) of pixels in [0, 1]:
                float, bool or integer. uint8 arrays are refused, not rescaled: pass
                `images / 255` for 8-bit pixels.

        Raises:
            ValueError: naming `images`, on a wrong dtype (uint8, complex, non-numeric) or
                shape, no images, or NaN, infinite or out-of-range values.
        """
        images = self._as_images(images)
        try:
            outputs = [
                self._signature(**{INPUT: tf.constant(images[start:start + self.batch_size])})
                for start in range(0, len(images), self.batch_size)
            ]
        except tf.errors.OpError as error:
            reason = (error.message.strip().splitlines() or [""])[0][:300]
            raise ValueError(
                f"The encoder at {self.path} failed on images of shape {images.shape} "
                f"({type(error).__name__}: {reason}). It is not an encoder bvae_tf can run: "
                "export the model again with bvae_tf.export.export_encoder.") from None
        return tuple(
            np.concatenate([output[key].numpy() for output in outputs]) for key in OUTPUTS
        )

    def sample_codes(self, images, random_state):
        """Returns codes z ~ q(z | images): float32 numpy [N, latent_dim].

        Args:
            images: array [N, H, W, C], pixels in [0, 1] (see `distribution_parameters`).
            random_state: int, `np.random.RandomState` or None.
        """
        return distributions.sample_codes(*self.distribution_parameters(images), random_state)

    def _as_images(self, images):
        return checks.as_images(images, self.image_shape, f"Encoder at {self.path}",
                                self.likelihood)
