"""Small dSprites and 3D Shapes files of the real layout, and a toy ground-truth dataset.

The real files list every factor tuple once in row-major order; the loaders derive each
factor's number of values from the file, so fewer values per factor keep the layout (same
keys, dtypes, factor columns and order) at a few hundred images.
"""

import math

import h5py
import numpy as np

from bvae_tf.data import ground_truth

# (color, shape, scale, orientation, posX, posY); the original is (1, 3, 6, 40, 32, 32).
DSPRITES_SIZES = (1, 3, 2, 4, 4, 4)
# (floor_hue, wall_hue, object_hue, scale, shape, orientation); the original is
# (10, 10, 10, 8, 4, 15).
SHAPES3D_SIZES = (2, 2, 2, 2, 2, 3)


def grid(sizes):
    """int64 (prod(sizes), len(sizes)): every factor tuple in row-major order."""
    return np.stack(np.unravel_index(np.arange(math.prod(sizes)), sizes), axis=1).astype(np.int64)


def write_dsprites(path, sizes=DSPRITES_SIZES, seed=0):
    """Writes an npz with the original's keys and dtypes: imgs, latents_classes, ...

    Returns:
        (path, images): images uint8 (num, 64, 64) of 0/1, in grid order.
    """
    classes = grid(sizes)
    ranges = [(1.0, 1.0), (1.0, 3.0), (0.5, 1.0), (0.0, 2 * np.pi), (0.0, 1.0), (0.0, 1.0)]
    values = np.stack([np.linspace(low, high, size)[classes[:, j]]
                       for j, ((low, high), size) in enumerate(zip(ranges, sizes))], axis=1)
    images = (np.random.RandomState(seed).rand(len(classes), 64, 64) < 0.1).astype(np.uint8)
    metadata = {"latents_sizes": np.array(sizes),
                "latents_names": ("color", "shape", "scale", "orientation", "posX", "posY")}
    np.savez_compressed(path, imgs=images, latents_classes=classes, latents_values=values,
                        metadata=np.array(metadata, dtype=object))
    return path, images


def write_shapes3d(path, sizes=SHAPES3D_SIZES, seed=0):
    """Writes an HDF5 file with the original's datasets: images uint8, labels float64.

    Returns:
        (path, images): images uint8 (num, 64, 64, 3), in grid order.
    """
    classes = grid(sizes)
    ranges = [(0.0, 0.9), (0.0, 0.9), (0.0, 0.9), (0.75, 1.25), (0.0, 3.0), (-30.0, 30.0)]
    labels = np.stack([np.linspace(low, high, size)[classes[:, j]]
                       for j, ((low, high), size) in enumerate(zip(ranges, sizes))], axis=1)
    images = np.random.RandomState(seed).randint(256, size=(len(classes), 64, 64, 3),
                                                 dtype=np.uint8)
    with h5py.File(path, "w") as archive:
        archive.create_dataset("images", data=images)
        archive.create_dataset("labels", data=labels)
    return path, images


TOY_SIZES = (3, 4, 5)
TOY_NAMES = ("hue", "size", "pos_x")


def toy_data():
    """Three named factors; each 4x4x3 image holds its factors scaled to [0, 1] in one pixel."""
    factors = grid(TOY_SIZES)
    images = np.zeros((len(factors), 4, 4, 3), np.float32)
    images[:, 0, 0, :] = factors / (np.asarray(TOY_SIZES) - 1.0)
    return ground_truth.ArrayGrid(images, TOY_SIZES, TOY_NAMES)


def identity_encoder(images):
    """The factors read back from the images: a perfect, disentangled code."""
    return np.asarray(images)[:, 0, 0, :]


def noise_encoder(latent_dim=3, seed=0):
    """Standard normal codes that ignore the images."""
    noise = np.random.RandomState(seed)
    return lambda images: noise.randn(len(images), latent_dim)
