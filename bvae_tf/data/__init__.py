"""Datasets of bvae_tf: ground-truth data (the shapes grid, dSprites, 3D Shapes, your own),
MNIST, and the tf.data pipelines.

Submodules load on first use, so `import bvae_tf.data` stays cheap (the pipeline imports
TensorFlow):

- `bvae_tf.data.shapes`: `load`, `ShapesData`, `render`, `render_reference`;
- `bvae_tf.data.pipeline`: `make_dataset`, `DeviceBatches`, `salt_and_pepper`;
- `bvae_tf.data.mnist`: `load_mnist`, `subset_per_class`;
- `bvae_tf.data.ground_truth`: `GroundTruthData` (the interface the metrics score),
  `FactorGrid`, `ArrayGrid`;
- `bvae_tf.data.dsprites`, `bvae_tf.data.shapes3d`: the loaders of the user's files;
- `bvae_tf.data.catalog`: `load_ground_truth` (by name or file).

Example:
    >>> from bvae_tf import data
    >>> data.FACTORS_NUM_VALUES
    (3, 16, 16, 6, 60)
"""

import importlib

__all__ = [
    "FACTORS_NUM_VALUES",
    "FACTOR_NAMES",
    "IMAGE_SHAPE",
    "SHAPE_NAMES",
    "ArrayGrid",
    "DeviceBatches",
    "FactorGrid",
    "GroundTruthData",
    "ShapesData",
    "ShapesSplit",
    "load",
    "load_ground_truth",
    "load_mnist",
    "make_dataset",
    "render",
    "render_reference",
    "salt_and_pepper",
    "subset_per_class",
]

_HOMES = {
    "FACTOR_NAMES": "shapes",
    "FACTORS_NUM_VALUES": "shapes",
    "IMAGE_SHAPE": "shapes",
    "SHAPE_NAMES": "shapes",
    "ShapesData": "shapes",
    "ShapesSplit": "shapes",
    "load": "shapes",
    "render": "shapes",
    "render_reference": "shapes",
    "make_dataset": "pipeline",
    "DeviceBatches": "pipeline",
    "salt_and_pepper": "pipeline",
    "load_mnist": "mnist",
    "subset_per_class": "mnist",
    "ArrayGrid": "ground_truth",
    "FactorGrid": "ground_truth",
    "GroundTruthData": "ground_truth",
    "load_ground_truth": "catalog",
}


def __getattr__(name):
    if name in _HOMES:
        module = importlib.import_module(f"{__name__}.{_HOMES[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
