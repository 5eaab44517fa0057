"""bvae_tf: a Keras 3 / TensorFlow model zoo of beta-VAEs.

Reproduces, and goes beyond, "Quantifying the Effects of Enforcing Disentanglement on
Variational Autoencoders" (Peychev, Velickovic and Lio, 2017): the shapes dataset, the
paper's fully connected and convolutional (denoising) beta-VAEs, the disentanglement
metrics, beta sweeps with keras-tuner, the MNIST SVM experiment and the paper's figures.

Submodules are imported on demand so that `import bvae_tf` stays cheap:
`bvae_tf.data`, `bvae_tf.zoo`, `bvae_tf.models`, `bvae_tf.metrics`, `bvae_tf.export`,
`bvae_tf.tuning`, `bvae_tf.reports`.

Saved models load after `import bvae_tf` alone: the package's Keras classes are registered
as soon as Keras and TensorFlow have been imported (now, if they already were), so
`import bvae_tf` itself imports neither, and `bvae-tf` can start TensorFlow quietly.
Keras' `load_model` imports the module of a saved class only for Keras' own packages.
"""

import importlib
import importlib.abc
import sys

__version__ = "0.1.0"
__all__ = ["__version__"]

# Registration waits until these have finished importing: `import tensorflow` imports keras
# before it is done, and keras imports tensorflow before it is done.
_AWAITED = ("keras", "tensorflow")


class _RegisterAfterKeras(importlib.abc.MetaPathFinder):
    """Imports `bvae_tf.models` (registering its classes) once keras and TensorFlow are in."""

    def __init__(self):
        self.importing = set()

    def find_spec(self, name, path, target=None):
        if name not in _AWAITED:
            return None
        for finder in sys.meta_path:
            find = None if finder is self else getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find else None
            if spec is not None and spec.loader is not None:
                spec.loader = _ThenRegister(spec.loader, name, self)
                return spec
        return None

    def register_when_ready(self):
        if "keras" in sys.modules and not self.importing and self in sys.meta_path:
            sys.meta_path.remove(self)
            importlib.import_module("bvae_tf.models")


class _ThenRegister(importlib.abc.Loader):
    """The loader of an awaited module, telling the finder when the module has run."""

    def __init__(self, loader, name, finder):
        self.loader, self.name, self.finder = loader, name, finder

    def __getattr__(self, attribute):  # get_resource_reader, is_package, ...
        return getattr(self.loader, attribute)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.finder.importing.add(self.name)
        try:
            self.loader.exec_module(module)
        finally:
            self.finder.importing.discard(self.name)
        self.finder.register_when_ready()


def _register_keras_classes():
    finder = _RegisterAfterKeras()
    sys.meta_path.insert(0, finder)
    finder.register_when_ready()


_register_keras_classes()
