"""3D Shapes as ground-truth data, from the file DeepMind publishes (nothing downloads).

The file is `3dshapes.h5` (read with h5py): `images` uint8 (480000, 64, 64, 3) and `labels`
float64 (480000, 6), the values of floor_hue, wall_hue, object_hue, scale, shape and
orientation (10 x 10 x 10 x 8 x 4 x 15 values), every tuple once in row-major order. It is
found at the `path` argument, at `$BVAE_TF_3DSHAPES`, or in the cache directory
(`$BVAE_TF_CACHE`, else `~/.cache/bvae_tf`) as `3dshapes.h5`. Each factor's values are
numbered 0, 1, ... in increasing order. The images stay in the file (5.9 GB unpacked) and
are read for each batch; `in_memory=True` reads them all at once.

The checksum is tensorflow_datasets' (`tensorflow_datasets/url_checksums/shapes3d.txt`:
https://storage.googleapis.com/3d-shapes/3dshapes.h5, 267,573,662 bytes, sha256
0a0f6ed98baff276a50f3a081a7434d788da63cb135a98189b2a5b5769be1785).

Example:
    >>> data = load()  # doctest: +SKIP
    >>> data.factors_num_values, data.observation_shape  # doctest: +SKIP
    ([10, 10, 10, 8, 4, 15], [64, 64, 3])

References:
    Burgess and Kim (2018), "3D Shapes Dataset", https://github.com/google-deepmind/3d-shapes.
"""

import numpy as np

from bvae_tf.data import files, ground_truth

FILE_NAME = "3dshapes.h5"
SOURCE = files.FileSource(
    dataset="3D Shapes",
    file_name=FILE_NAME,
    origin="https://storage.googleapis.com/3d-shapes/3dshapes.h5",
    algorithm="sha256",
    checksum="0a0f6ed98baff276a50f3a081a7434d788da63cb135a98189b2a5b5769be1785",
    environment_variable="BVAE_TF_3DSHAPES",
)
FACTOR_NAMES = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
IMAGE_SHAPE = (64, 64, 3)

__all__ = ["FACTOR_NAMES", "FILE_NAME", "IMAGE_SHAPE", "SOURCE", "Shapes3DData", "load"]


class Shapes3DData(ground_truth.FactorGrid):
    """3D Shapes' grid: 6 named factors, 64x64x3 colour images scaled to [0, 1].

    Args:
        images: h5py dataset or np.ndarray uint8 (num, 64, 64, 3) in grid order.
        factors_num_values: sequence of 6 int (10, 10, 10, 8, 4, 15 in the original file).
        factor_values: list of 6 float arrays, the label value of each factor's classes.
        path: pathlib.Path or None, the file they came from.
    """

    def __init__(self, images, factors_num_values, factor_values, path=None):
        super().__init__(factors_num_values, FACTOR_NAMES, IMAGE_SHAPE, scale=1 / 255)
        self.images = images
        self.factor_values = factor_values
        self.path = path

    def images_at(self, rows):
        """uint8 (num, 64, 64, 3) at grid rows (h5py reads each distinct row once, in order)."""
        unique, inverse = np.unique(np.asarray(rows, np.int64), return_inverse=True)
        return np.asarray(self.images[unique])[inverse.reshape(-1)]


def load(path=None, cache_dir=None, verify=True, in_memory=False):
    """Loads 3D Shapes from the user's file.

    Args:
        path: str, path or None, default None: `$BVAE_TF_3DSHAPES`, else
            `<cache_dir>/3dshapes.h5`.
        cache_dir: str, path or None, default None (`$BVAE_TF_CACHE` or `~/.cache/bvae_tf`).
        verify: bool, default True: check the file's sha256 (False for a file of the same
            layout made on purpose, e.g. with fewer values per factor).
        in_memory: bool, default False: read every image now (5.9 GB for the original)
            instead of batch by batch from the file.

    Returns:
        Shapes3DData.

    Raises:
        FileNotFoundError: no file where it was looked for.
        ValueError: the file is not the original (checksum) or not of its layout.
    """
    import h5py  # deferred: only this loader needs it

    found, source = SOURCE.locate(path, cache_dir)
    if verify:
        SOURCE.verify(found, source, cache_dir)
    archive = None
    try:
        archive = h5py.File(found, "r")
        images, labels = archive["images"], np.asarray(archive["labels"])
        factor_values, classes = _classes(labels)
        sizes = ground_truth.row_major_sizes(classes)
        if sizes is None or images.shape != (len(labels), *IMAGE_SHAPE) or \
                images.dtype != np.uint8:
            raise ValueError(
                f"`images` {images.dtype} {images.shape} and `labels` {labels.shape} are not "
                "one uint8 (64, 64, 3) image per tuple of the 6 factors, in row-major order"
            )
    except (OSError, KeyError, ValueError) as error:
        if archive is not None:
            archive.close()
        raise SOURCE.layout_error(found, source, error, cache_dir) from error
    if in_memory:
        images = images[:]
        archive.close()
    return Shapes3DData(images, sizes, factor_values, path=found)


def _classes(labels):
    """Each factor's sorted values and each label's class numbers, int64 (num, 6)."""
    if labels.ndim != 2 or labels.shape[1] != len(FACTOR_NAMES):
        raise ValueError(f"`labels` has shape {labels.shape}, expected (num, 6)")
    values = [np.unique(column) for column in labels.T]
    classes = np.stack([np.searchsorted(column_values, column)
                        for column_values, column in zip(values, labels.T)], axis=1)
    return values, classes.astype(np.int64)
