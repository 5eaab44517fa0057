"""Shared checks run on every model of the zoo and on small test models.

As keras-hub's `TestCase.run_model_saving_test`: the config round trip, the `.keras` round
trip with identical outputs, and a one-step `fit`.
"""

import keras
import numpy as np

from bvae_tf.models import BetaVAE


def binary_images(num, image_shape, seed=0):
    """Returns `num` random 0/1 float32 images [num, *image_shape]."""
    rng = np.random.default_rng(seed)
    return (rng.random((num, *image_shape)) > 0.5).astype(np.float32)


def tiny_model(architecture="fc", beta=1.0, denoising=False, seed=0, compile=True,
               run_eagerly=True, **kwargs):
    """A small BetaVAE on 16x16 images, compiled with Adam.

    Eager by default: tracing a train step costs ~5-10 s on 2 cores, an eager step well
    under one; the tests that need the traced step (beta as a variable, XLA) ask for it.
    """
    sizes = {"image_shape": (16, 16, 1), "latent_dim": 3, "encoder_units": (12,),
             "decoder_units": (12,)}
    if architecture == "conv":
        sizes.update(encoder_filters=(2, 4), decoder_reshape=(4, 4, 3),
                     decoder_filters=(2,), output_strides=2)
    model = BetaVAE(architecture=architecture, beta=beta, denoising=denoising, seed=seed,
                    **{**sizes, **kwargs})
    if compile:
        model.compile(optimizer=keras.optimizers.Adam(1e-2), run_eagerly=run_eagerly)
    return model


def trainable_count(model):
    """Returns the number of trainable scalars of `model`."""
    return sum(int(np.prod(variable.shape)) for variable in model.trainable_variables)


def check_config_round_trip(model):
    """`from_config(get_config())` rebuilds the same architecture and arguments."""
    config = model.get_config()
    rebuilt = type(model).from_config(config)
    assert rebuilt.get_config() == config
    assert [v.shape for v in rebuilt.weights] == [v.shape for v in model.weights]
    return rebuilt


def check_one_step_fit(model, images, targets=None):
    """One `fit` step changes the weights and reports finite losses under their names."""
    before = [np.array(v) for v in model.trainable_variables]
    history = model.fit(images, images if targets is None else targets,
                        batch_size=len(images), epochs=1, verbose=0)
    logs = {key: values[-1] for key, values in history.history.items()}
    assert set(logs) == {"loss", "reconstruction_loss", "kl_loss"}
    assert all(np.isfinite(value) for value in logs.values()), logs
    assert logs["reconstruction_loss"] > 0 and logs["kl_loss"] >= 0
    after = [np.array(v) for v in model.trainable_variables]
    assert any(not np.array_equal(b, a) for b, a in zip(before, after))
    return logs


def check_saved_model_round_trip(model, images, path):
    """`.keras` save and load give the same class, config, beta and outputs."""
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    assert loaded.beta == model.beta
    np.testing.assert_array_equal(loaded.encode(images), model.encode(images))
    np.testing.assert_array_equal(loaded.reconstruct(images), model.reconstruct(images))
    # The sampling noise comes from the seed generator's state: align it, then compare.
    loaded.seed_generator.state.assign(model.seed_generator.state)
    expected, actual = model(images), loaded(images)
    for key in ("z_mean", "z_log_var", "logits"):
        np.testing.assert_array_equal(np.array(actual[key]), np.array(expected[key]))
    if model.optimizer is not None and model.optimizer.built:
        assert len(loaded.optimizer.variables) == len(model.optimizer.variables)
        for expected, actual in zip(model.optimizer.variables, loaded.optimizer.variables):
            np.testing.assert_array_equal(np.array(actual), np.array(expected))
    return loaded
