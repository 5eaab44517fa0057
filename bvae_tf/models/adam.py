"""Adam with TensorFlow's fused update kernel: the zoo's optimizer.

Registered with Keras' serialization (package "bvae_tf"), so a saved model that uses it
loads wherever `bvae_tf.models` is imported.
"""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="bvae_tf")
class Adam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` that updates each variable with TensorFlow's fused kernel.

    Same arguments, variables, math and saved state as Keras' Adam (Kingma and Ba, with
    epsilon added to sqrt(v), as `tf.compat.v1.train.AdamOptimizer`):
    `m += (g - m)(1 - beta_1)`, `v += (g^2 - v)(1 - beta_2)`,
    `x -= lr sqrt(1 - beta_2^t) / (1 - beta_1^t) m / (sqrt(v) + epsilon)`, as one
    `ResourceApplyAdam` op per variable (also under XLA). One rounding differs: the kernel
    computes `1 - beta` in float32 (0.0010000467 for beta_2 = 0.999, as TF1's
    `AdamOptimizer` in the authors' code did), Keras from the double (0.001).
    `amsgrad=True` and sparse gradients take Keras' own update.

    Example:
    >>> import numpy as np
    >>> variable = keras.Variable([1.0, -2.0])
    >>> optimizer = Adam(learning_rate=0.1)
    >>> optimizer.apply([tf.constant([0.5, -0.5])], [variable])
    >>> np.array(variable, "float64").round(4).tolist()  # the first step moves by lr: 0.1
    [0.9, -1.9]
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        index = self._get_variable_index(variable)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable), m=_handle(self._momentums[index]),
            v=_handle(self._velocities[index]), beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step), lr=tf.cast(learning_rate, dtype), beta1=beta_1,
            beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype),
        )


def _handle(variable):
    return (variable.value if isinstance(variable, keras.Variable) else variable).handle



__all__ = ["Adam"]
