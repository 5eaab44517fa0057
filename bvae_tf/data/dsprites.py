"""dSprites as ground-truth data, from the file DeepMind publishes (nothing downloads).

The file is `dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`: `imgs` uint8 (737280, 64, 64)
of 0/1 and `latents_classes` int64 (737280, 6), every (color, shape, scale, orientation,
posX, posY) tuple once in row-major order (1 x 3 x 6 x 40 x 32 x 32). It is found at the
`path` argument, at `$BVAE_TF_DSPRITES`, or in the cache directory (`$BVAE_TF_CACHE`, else
`~/.cache/bvae_tf`) under its own name. As disentanglement_lib's `DSprites`, the constant
color is left out: 5 factors, `shape`, `scale`, `orientation`, `posX`, `posY` (the file's
`latents_names`). Images are bit-packed in memory (377 MB; unpacked they would take 3 GB)
and read from the archive in chunks.

The checksum: the repository's file has md5 7da33b31b13a06f4b04a70402ce90c2e, as the
dataset classes of several independent projects check it (e.g. one pinned to the
dsprites-dataset commit fa310c66). tensorflow_datasets reads the HDF5 version of dSprites
instead, so its url_checksums/dsprites.txt has no entry for the npz.

Example:
    >>> data = load()  # doctest: +SKIP
    >>> data.factor_names, data.factors_num_values  # doctest: +SKIP
    (('shape', 'scale', 'orientation', 'posX', 'posY'), [3, 6, 40, 32, 32])

References:
    Matthey, Higgins, Hassabis and Lerchner (2017), "dSprites: Disentanglement testing
    Sprites dataset", https://github.com/google-deepmind/dsprites-dataset.
"""

import zipfile
import zlib

import numpy as np

from bvae_tf.data import files, ground_truth

FILE_NAME = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
SOURCE = files.FileSource(
    dataset="dSprites",
    file_name=FILE_NAME,
    origin=f"https://github.com/google-deepmind/dsprites-dataset/raw/master/{FILE_NAME}",
    algorithm="md5",
    checksum="7da33b31b13a06f4b04a70402ce90c2e",
    environment_variable="BVAE_TF_DSPRITES",
)
LATENT_NAMES = ("color", "shape", "scale", "orientation", "posX", "posY")
FACTOR_NAMES = LATENT_NAMES[1:]
IMAGE_SHAPE = (64, 64, 1)
_CHUNK_ROWS = 16_384

__all__ = ["FACTOR_NAMES", "FILE_NAME", "IMAGE_SHAPE", "SOURCE", "DSpritesData", "load"]


class DSpritesData(ground_truth.FactorGrid):
    """dSprites' grid without its constant color: 5 named factors, 64x64x1 binary images.

    Args:
        packed: np.ndarray uint8 (num, 512), the bit-packed images in grid order.
        factors_num_values: sequence of 5 int (3, 6, 40, 32, 32 in the original file).
        path: pathlib.Path or None, the file they came from.
    """

    def __init__(self, packed, factors_num_values, path=None):
        super().__init__(factors_num_values, FACTOR_NAMES, IMAGE_SHAPE)
        self.packed = packed
        self.path = path

    def images_at(self, rows):
        """uint8 (num, 64, 64) of 0/1 at grid rows."""
        return np.unpackbits(self.packed[rows], axis=-1).reshape(-1, *IMAGE_SHAPE[:2])


def load(path=None, cache_dir=None, verify=True):
    """Loads dSprites from the user's file.

    Args:
        path: str, path or None, default None: `$BVAE_TF_DSPRITES`, else
            `<cache_dir>/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`.
        cache_dir: str, path or None, default None (`$BVAE_TF_CACHE` or `~/.cache/bvae_tf`).
        verify: bool, default True: check the file's md5 (False for a file of the same
            layout made on purpose, e.g. with fewer values per factor).

    Returns:
        DSpritesData.

    Raises:
        FileNotFoundError: no file where it was looked for.
        ValueError: the file is not the original (checksum) or not of its layout.
    """
    found, source = SOURCE.locate(path, cache_dir)
    if verify:
        SOURCE.verify(found, source, cache_dir)
    try:
        with zipfile.ZipFile(found) as archive:
            latents = _read_member(archive, "latents_classes")[:]
            sizes = ground_truth.row_major_sizes(latents)
            if latents.shape[1:] != (len(LATENT_NAMES),) or sizes is None or sizes[0] != 1:
                raise ValueError(
                    f"`latents_classes` of shape {latents.shape} is not every (color, shape, "
                    "scale, orientation, posX, posY) tuple once, in row-major order, of one "
                    "color"
                )
            packed = _packed_images(archive, len(latents))
    except (zipfile.BadZipFile, zlib.error, KeyError, ValueError, EOFError) as error:
        raise SOURCE.layout_error(found, source, error, cache_dir) from error
    return DSpritesData(packed, sizes[1:], path=found)


def _read_member(archive, name):
    """The array `name` of an npz archive (no pickles)."""
    with archive.open(f"{name}.npy") as member:
        return np.lib.format.read_array(member, allow_pickle=False)


def _packed_images(archive, num_images):
    """`imgs`, read `_CHUNK_ROWS` images at a time and bit-packed: uint8 (num, 512)."""
    with archive.open("imgs.npy") as member:
        version = np.lib.format.read_magic(member)
        reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                  else np.lib.format.read_array_header_2_0)
        shape, fortran_order, dtype = reader(member)
        if shape != (num_images, *IMAGE_SHAPE[:2]) or dtype != np.uint8 or fortran_order:
            raise ValueError(
                f"`imgs` is {dtype} {shape}, expected uint8 ({num_images}, 64, 64) in C order"
            )
        row_bytes = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
        packed = np.empty((num_images, row_bytes // 8), np.uint8)
        for start in range(0, num_images, _CHUNK_ROWS):
            rows = min(_CHUNK_ROWS, num_images - start)
            chunk = np.frombuffer(member.read(rows * row_bytes), np.uint8)
            if chunk.size != rows * row_bytes or chunk.max(initial=0) > 1:
                raise ValueError("`imgs` is truncated or holds values other than 0 and 1")
            packed[start : start + rows] = np.packbits(chunk.reshape(rows, row_bytes), axis=1)
    return packed
