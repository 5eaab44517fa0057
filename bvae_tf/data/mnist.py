"""MNIST, split as the paper's TensorFlow loader did, and per-class random subsets.

The file is the one `keras.datasets.mnist.load_data()` downloads (`mnist.npz`, checked by
its sha256). Offline, the file is found, in this order, at the `path` argument, at the path
in the environment variable `BVAE_TF_MNIST`, or in the Keras cache
(`$KERAS_HOME/datasets/mnist.npz`, by default `~/.keras/datasets/mnist.npz`); only then does
Keras try to download it.

References:
    Peychev, Velickovic and Lio (2017), "Quantifying the Effects of Enforcing
    Disentanglement on Variational Autoencoders", section 4.2 (MNIST): the authors' code
    read MNIST with `tensorflow.examples.tutorials.mnist.input_data.read_data_sets`, whose
    validation set is the first 5,000 training images.
"""

import dataclasses
import hashlib
import math
import numbers
import os
import pathlib

import numpy as np
from sklearn.utils import check_random_state

MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
MNIST_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
ENVIRONMENT_VARIABLE = "BVAE_TF_MNIST"
NUM_VALIDATION = 5000
IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


@dataclasses.dataclass(frozen=True)
class MnistSplit:
    """One split of MNIST.

    Attributes:
        images: float32 array (N, 28, 28, 1), grey levels in [0, 1] (not binarised).
        labels: int64 array (N,) of digits 0..9.
    """

    images: np.ndarray
    labels: np.ndarray

    def __len__(self):
        return len(self.labels)


@dataclasses.dataclass(frozen=True)
class MnistData:
    """MNIST as the paper used it: 55,000 train, 5,000 validation, 10,000 test images.

    Attributes:
        train: `MnistSplit`, Keras' training images 5,000..59,999.
        validation: `MnistSplit`, Keras' training images 0..4,999.
        test: `MnistSplit`, Keras' 10,000 test images.
    """

    train: MnistSplit
    validation: MnistSplit
    test: MnistSplit

    def split(self, name):
        """Returns the split called `name` ("train", "validation" or "test")."""
        if name not in ("train", "validation", "test"):
            raise ValueError(
                f"Unknown MNIST split {name!r}; expected 'train', 'validation' or 'test'."
            )
        return getattr(self, name)


def load_mnist(path=None):
    """Loads MNIST, split as the paper's TensorFlow loader did.

    Args:
        path: str or path-like, default None. A local `mnist.npz` (the file Keras
            downloads). None looks at `BVAE_TF_MNIST`, then the Keras cache, then lets
            `keras.datasets.mnist.load_data()` download it.

    Returns:
        `MnistData` with `.train` (55,000), `.validation` (the first 5,000 images of Keras'
        training set) and `.test` (10,000); images float32 (N, 28, 28, 1) in [0, 1].

    Raises:
        FileNotFoundError: the file named by `path` or `BVAE_TF_MNIST` does not exist, or
            no local file was found and the download failed.
        ValueError: the local file is not the MNIST file Keras downloads (its sha256).

    Example:
    >>> mnist = load_mnist()  # doctest: +SKIP
    >>> len(mnist.train), len(mnist.validation), len(mnist.test)  # doctest: +SKIP
    (55000, 5000, 10000)
    """
    (train_images, train_labels), (test_images, test_labels) = _read_arrays(path)
    train_images, test_images = _to_float(train_images), _to_float(test_images)
    train_labels, test_labels = train_labels.astype(np.int64), test_labels.astype(np.int64)
    return MnistData(
        train=MnistSplit(train_images[NUM_VALIDATION:], train_labels[NUM_VALIDATION:]),
        validation=MnistSplit(train_images[:NUM_VALIDATION], train_labels[:NUM_VALIDATION]),
        test=MnistSplit(test_images, test_labels),
    )


ROUNDINGS = ("floor", "round")


def subset_per_class(labels, fraction, random_state, rounding="floor"):
    """Draws a random subset with the same fraction of every class.

    Args:
        labels: int array (N,) of class labels.
        fraction: float in (0, 1]; each class keeps `floor(fraction * class count)` examples
            (or `round(...)`), drawn without replacement.
        random_state: None, int or `np.random.RandomState` (`check_random_state`).
        rounding: "floor" (default: the authors' `int(fraction * count)`) or "round".

    Returns:
        int64 array of indices into `labels`, sorted ascending.

    Raises:
        ValueError: `fraction` is not in (0, 1], or `labels` is not one-dimensional.

    Example:
    >>> labels = np.repeat(np.arange(10), 50)
    >>> indices = subset_per_class(labels, 0.1, random_state=0)
    >>> np.bincount(labels[indices]).tolist()
    [5, 5, 5, 5, 5, 5, 5, 5, 5, 5]
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be one-dimensional (N,); got shape {labels.shape}.")
    is_number = isinstance(fraction, numbers.Real) and not isinstance(fraction, bool)
    if not is_number or not 0 < fraction <= 1:
        raise ValueError(
            f"fraction must be a number in (0, 1] (0.1 keeps 10% of every class); "
            f"got {fraction!r}."
        )
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding must be one of {ROUNDINGS}; got {rounding!r}.")
    random_state = check_random_state(random_state)
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        size = (math.floor if rounding == "floor" else round)(float(fraction) * len(members))
        chosen.append(random_state.choice(members, size=size, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def _to_float(images):
    return (images.astype(np.float32) / 255.0)[..., np.newaxis]


def _read_arrays(path):
    """Returns `((x_train, y_train), (x_test, y_test))` as uint8 arrays from the first source."""
    source = "the path argument"
    if path is None and os.environ.get(ENVIRONMENT_VARIABLE):
        path, source = os.environ[ENVIRONMENT_VARIABLE], ENVIRONMENT_VARIABLE
    if path is not None:
        return _read_local(pathlib.Path(path).expanduser(), source)
    import keras

    try:
        return keras.datasets.mnist.load_data()
    except Exception as error:  # Keras re-raises URL failures as a bare Exception.
        raise FileNotFoundError(
            f"MNIST is not available offline and keras.datasets.mnist.load_data() could not "
            f"download it ({error}). {_how_to_fix()}"
        ) from error


def _read_local(path, source):
    if not path.is_file():
        raise FileNotFoundError(f"No MNIST file at {path} (given by {source}). {_how_to_fix()}")
    found = _sha256(path)
    if found != MNIST_SHA256:
        raise ValueError(
            f"{path} (given by {source}) is not the MNIST file Keras downloads: its sha256 is "
            f"{found}, expected {MNIST_SHA256}. {_how_to_fix()}"
        )
    with np.load(path, allow_pickle=False) as arrays:
        return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _how_to_fix():
    return (
        f"Get the original mnist.npz ({MNIST_ORIGIN}, sha256 {MNIST_SHA256}) and either set "
        f"{ENVIRONMENT_VARIABLE}=/path/to/mnist.npz or copy it to the Keras cache at "
        f"{_keras_cache_path()}."
    )


def _keras_cache_path():
    """Where `keras.utils.get_file` keeps `mnist.npz` (Keras 3's rule, read from its source)."""
    keras_home = os.environ.get("KERAS_HOME")
    if keras_home is None:
        base = os.path.expanduser("~")
        keras_home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    keras_home = pathlib.Path(keras_home).expanduser()
    if keras_home.exists() and not os.access(keras_home, os.W_OK):
        keras_home = pathlib.Path("/tmp", ".keras")
    return keras_home / "datasets" / "mnist.npz"


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
