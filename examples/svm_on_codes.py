"""An SVM on the codes of an exported encoder, loaded with TensorFlow alone.

    python examples/svm_on_codes.py --encoder results/quick/saved_models/mnist_fc/NAME
    python examples/svm_on_codes.py --quick   # trains and exports a small mnist_fc first

The encoder is a SavedModel in TF Serving's layout (`<name>/<version>/`); this script reads
it with `tf.saved_model.load` and its `serving_default` signature, as any TensorFlow program
or TF Serving would, samples codes z from the posterior and scores the paper's SVM
(`SVC(kernel="rbf", C=1.0, gamma=1/latent_dim)`) on the MNIST test images.
"""

import argparse
import pathlib
import tempfile

import numpy as np
import sklearn.svm
import tensorflow as tf

from bvae_tf.data import mnist


def sample_codes(signature, images, seed, batch_size=1000):
    """z = mean + exp(log_var / 2) * noise, from the SavedModel's `serving_default`."""
    random = np.random.default_rng(seed)
    codes = []
    for start in range(0, len(images), batch_size):
        outputs = signature(images=tf.constant(images[start:start + batch_size]))
        mean, log_var = outputs["z_mean"].numpy(), outputs["z_log_var"].numpy()
        codes.append(mean + np.exp(log_var / 2) * random.standard_normal(mean.shape))
    return np.concatenate(codes)


def latest_version(path):
    """The newest numbered version inside a servable's folder, or `path` itself."""
    path = pathlib.Path(path)
    versions = sorted((p for p in path.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    return versions[-1] if versions else path


def train_small_encoder(directory, seed):
    """Trains mnist_fc briefly on 10% of MNIST and exports its encoder (for --quick)."""
    from bvae_tf import export, profiles, trial

    settings = profiles.TrialSettings(max_epochs=2, batch_size=100)
    record = trial.run_trial(trial.TrialSpec("mnist_fc", 1.0, seed, fraction=0.1), settings,
                             directory, mnist.load_mnist())
    return export.load_encoder(pathlib.Path(directory) / record["encoder_path"]).path


def main(encoder_path=None, quick=False, fraction=0.1, seed=0):
    if encoder_path is None:
        if not quick:
            raise SystemExit("Pass --encoder PATH (an exported mnist encoder) or --quick.")
        encoder_path = train_small_encoder(tempfile.mkdtemp(prefix="svm_on_codes_"), seed)
    signature = tf.saved_model.load(str(latest_version(encoder_path))).signatures[
        "serving_default"]
    data = mnist.load_mnist()
    subset = mnist.subset_per_class(data.train.labels, fraction, random_state=seed)
    train_codes = sample_codes(signature, data.train.images[subset], seed)
    test_codes = sample_codes(signature, data.test.images, seed + 1)
    latent_dim = train_codes.shape[1]
    svm = sklearn.svm.SVC(kernel="rbf", C=1.0, gamma=1.0 / latent_dim)
    accuracy = svm.fit(train_codes, data.train.labels[subset]).score(test_codes,
                                                                     data.test.labels)
    print(f"SVM on {latent_dim}-dimensional codes of {len(subset)} training images: "
          f"test accuracy {accuracy:.3f}")
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default=None, help="Exported encoder: <name>[/<version>].")
    parser.add_argument("--quick", action="store_true", help="Train a small encoder first.")
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    main(arguments.encoder, arguments.quick, arguments.fraction, arguments.seed)
