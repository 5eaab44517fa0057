"""Datasets of bvae_tf: the shapes grid and its splits, MNIST, and the tf.data pipelines.

Submodules load on first use, so `import bvae_tf.data` stays cheap (the pipeline imports
TensorFlow):

- `bvae_tf.data.shapes`: `load`, `ShapesData`, `render`, `render_reference`;
- `bvae_tf.data.pipeline`: `make_dataset`, `DeviceBatches`, `salt_and_pepper`;
- `bvae_tf.data.mnist`: `load_mnist`, `subset_per_class`.

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
    "DeviceBatches",
    "ShapesData",
    "ShapesSplit",
    "load",
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
}


def __getattr__(name):
    if name in _HOMES:
        module = importlib.import_module(f"{__name__}.{_HOMES[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
