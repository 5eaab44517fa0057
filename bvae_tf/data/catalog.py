"""Ground-truth data by name or by file: what `bvae-tf metric --data` scores.

Names: `shapes` (the paper's grid, built and cached locally), `dsprites` and `3dshapes`
(the user's files, found as `bvae_tf.data.dsprites` and `bvae_tf.data.shapes3d` say). A
path to a `.npz` file is read as dSprites, a path to a `.h5` or `.hdf5` file as 3D Shapes
(neither checked against the original's checksum, so a file of the same layout made on
purpose scores too).

Example:
    >>> load_ground_truth("mnist")
    Traceback (most recent call last):
    ...
    ValueError: Unknown data 'mnist': give one of ['shapes', 'dsprites', '3dshapes'] or the path of a .npz (dSprites layout) or .h5/.hdf5 (3D Shapes layout) file.
"""

import pathlib

NAMES = ("shapes", "dsprites", "3dshapes")
_SUFFIXES = {".npz": "dsprites", ".h5": "3dshapes", ".hdf5": "3dshapes"}


def load_ground_truth(name_or_path, cache_dir=None):
    """Loads ground-truth data by name, or from a dSprites or 3D Shapes file.

    Args:
        name_or_path: str or path: one of `NAMES`, or a file path ending in .npz, .h5 or
            .hdf5.
        cache_dir: str, path or None, default None: the cache directory of the shapes grid
            and of the named files (`$BVAE_TF_CACHE` or `~/.cache/bvae_tf`).

    Returns:
        ground-truth data (`bvae_tf.data.ground_truth.GroundTruthData`).

    Raises:
        ValueError: for an unknown name or suffix, or a file of the wrong layout.
        FileNotFoundError: for a missing file.
    """
    from bvae_tf.data import dsprites, shapes, shapes3d

    if name_or_path == "shapes":
        return shapes.load(cache_dir=cache_dir)
    modules = {"dsprites": dsprites, "3dshapes": shapes3d}
    if name_or_path in modules:
        return modules[name_or_path].load(cache_dir=cache_dir)
    suffix = pathlib.Path(name_or_path).suffix.lower()
    if suffix in _SUFFIXES:
        return modules[_SUFFIXES[suffix]].load(path=name_or_path, verify=False)
    raise ValueError(
        f"Unknown data {str(name_or_path)!r}: give one of {list(NAMES)} or the path of a .npz "
        "(dSprites layout) or .h5/.hdf5 (3D Shapes layout) file."
    )
