"""Frees what TensorFlow's process-wide gradient registry keeps of each traced train step.

Keras 3's TensorFlow optimizer sums the gradients through
`tf.distribute.get_replica_context().all_reduce`, which, inside a traced train step, wraps
them in a `tf.custom_gradient`. In graph mode every such call registers a new gradient
function (`CustomGradient-<n>`) in TensorFlow's global gradient registry, and nothing ever
removes it. That function holds the traced graph, the graph holds its captured variable
handles, and so every model trained in a process stays in memory: about 190 MB per
`bvae_tf.zoo.fc()` trained (its weights and Adam's two slots), which made a 36-trial sweep
grow past 6 GB. keras-team/keras#17458 and tensorflow/tensorflow#61791 report the growth;
this is its cause on TensorFlow 2.21 / Keras 3.15.

The registry entry is only read while the step is being traced (that is when TensorFlow
differentiates the graph), so it can go once `fit` returns: a later `fit` reuses the traced
step, and a retrace registers a fresh entry.
"""

import contextlib

from tensorflow.python.framework import ops as tf_ops

# Name prefix of the entries `tf.custom_gradient` registers in graph mode.
_CUSTOM_GRADIENT_PREFIX = "CustomGradient-"


def _registry():
    # TensorFlow has no public API to unregister a gradient; this dict is the registry.
    return tf_ops._gradient_registry._registry


def custom_gradient_names():
    """Names of the `tf.custom_gradient` functions in TensorFlow's gradient registry.

    Example:
    >>> import tensorflow as tf
    >>> double = tf.custom_gradient(lambda x: (2 * x, lambda upstream: 2 * upstream))
    >>> before = custom_gradient_names()
    >>> _ = tf.function(double)(tf.constant(1.0))  # traced: registers one gradient
    >>> [name.split("-")[0] for name in custom_gradient_names() - before]
    ['CustomGradient']
    """
    return {name for name in _registry() if name.startswith(_CUSTOM_GRADIENT_PREFIX)}


@contextlib.contextmanager
def released_custom_gradients():
    """Removes, on exit, the custom gradients registered inside the block.

    Wrap a call that traces a train step (`keras.Model.fit`); the traced step keeps
    working, and its graph and the model's variables become free once nothing else holds
    the model. `bvae_tf.models.BetaVAE.fit` does this itself.

    Example:
    >>> import tensorflow as tf
    >>> double = tf.custom_gradient(lambda x: (2 * x, lambda upstream: 2 * upstream))
    >>> before = custom_gradient_names()
    >>> with released_custom_gradients():  # around model.fit(...) in practice
    ...     _ = tf.function(double)(tf.constant(1.0))
    ...     added = len(custom_gradient_names() - before)
    >>> added, custom_gradient_names() == before
    (1, True)
    """
    before = custom_gradient_names()
    try:
        yield
    finally:
        for name in custom_gradient_names() - before:
            _registry().pop(name, None)


__all__ = ["custom_gradient_names", "released_custom_gradients"]
