"""The training protocol: early stopping semantics, best weights, NaN, logs, acceptance."""

import csv
import json

import helpers
import keras
import numpy as np
import pytest
import tensorflow as tf

from bvae_tf import inputs, training, zoo


def _linear_model(learning_rate):
    """y = w x + b from zero, trained by SGD on the MSE (eager: a few ops per step)."""
    model = keras.Sequential([keras.Input((1,)),
                              keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse", run_eagerly=True)
    return model


def _pairs(x, y):
    return tf.data.Dataset.from_tensor_slices((np.float32([[x]]), np.float32([[y]]))).batch(1)


@pytest.mark.parametrize("patience", [0, 1, 5])
def test_patience_stops_after_patience_plus_one_epochs_without_improvement(patience):
    # Learning rate 0: val_loss never improves after the first epoch, which sets the best.
    history = training.fit(_linear_model(0.0), _pairs(1, 1), _pairs(1, 1), patience=patience,
                           verbose=0)
    assert len(history.history["loss"]) == 1 + patience + 1


def test_best_weights_are_restored_also_at_the_epoch_cap():
    # Training pulls the output towards +1, validation wants -1: epoch 1 is the best.
    model = _linear_model(0.1)
    weights = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: weights.append(model.get_weights()))
    history = training.fit(model, _pairs(1, 1), _pairs(1, -1), max_epochs=4, verbose=0,
                           callbacks=[record])
    validation = history.history["val_loss"]
    assert len(validation) == 4 and validation == sorted(validation)  # worse every epoch
    for actual, expected in zip(model.get_weights(), weights[0]):
        np.testing.assert_array_equal(actual, expected)
    assert not np.array_equal(weights[0][0], weights[-1][0])


def test_no_epoch_cap_unless_max_epochs():
    seen = []
    spy = keras.callbacks.LambdaCallback(on_train_begin=lambda logs: seen.append(spy.params))
    training.fit(_linear_model(0.0), _pairs(1, 1), _pairs(1, 1), patience=0, verbose=0,
                 callbacks=[spy])
    training.fit(_linear_model(0.0), _pairs(1, 1), _pairs(1, 1), max_epochs=3, verbose=0,
                 callbacks=[spy])
    assert [params["epochs"] for params in seen] == [training.NO_EPOCH_CAP, 3]


@pytest.mark.parametrize("max_epochs, patience", [(0, 5), (2.5, 5), (None, -1)])
def test_invalid_arguments(max_epochs, patience):
    with pytest.raises(ValueError, match="must be"):
        training.fit(_linear_model(0.0), _pairs(1, 1), _pairs(1, 1), max_epochs=max_epochs,
                     patience=patience)


def test_nan_training_loss_raises():
    images = helpers.binary_images(8, (16, 16, 1))
    poisoned = images.copy()
    poisoned[3, 5, 5, 0] = np.nan
    # fit checks the first batch's pixels: the NaN comes in the second.
    data = tf.data.Dataset.from_tensors((images, images)).concatenate(
        tf.data.Dataset.from_tensors((poisoned, images)))
    with pytest.raises(training.NaNLossError, match=r"loss became nan at batch 1 of epoch 1"):
        training.fit(helpers.tiny_model("fc"), data, data, verbose=0)


def test_nan_validation_loss_raises():
    images = helpers.binary_images(8, (16, 16, 1))
    poisoned = np.full_like(images, np.nan)
    with pytest.raises(training.NaNLossError, match="val_loss became nan .* epoch 1"):
        training.fit(helpers.tiny_model("fc"), tf.data.Dataset.from_tensors((images, images)),
                     tf.data.Dataset.from_tensors((poisoned, images)), verbose=0)


def test_infinite_validation_loss_is_no_error_but_infinite_training_loss_is():
    callback = training.RaiseOnNaNLoss()
    callback.on_epoch_end(0, {"loss": 1.0, "val_loss": float("inf")})
    with pytest.raises(training.NaNLossError, match="loss became inf at batch 2 of epoch 1"):
        callback.on_train_batch_end(2, {"loss": float("inf")})


def test_logs_go_to_log_dir(tmp_path):
    images = helpers.binary_images(8, (16, 16, 1))
    data = tf.data.Dataset.from_tensors((images, images))
    training.fit(helpers.tiny_model("fc"), data, data, max_epochs=2, log_dir=tmp_path / "logs",
                 verbose=0)
    with open(tmp_path / "logs" / "training.csv") as file:
        rows = list(csv.DictReader(file))
    assert [row["epoch"] for row in rows] == ["0", "1"]
    assert {"loss", "reconstruction_loss", "kl_loss", "val_loss", "val_reconstruction_loss",
            "val_kl_loss"} <= set(rows[0])
    for split in ("train", "validation"):
        assert list((tmp_path / "logs" / split).glob("events.out.tfevents.*"))


def _train(data, entry, beta, learning_rate, epochs):
    model = zoo.get(entry)(beta=beta, seed=0, learning_rate=learning_rate, jit_compile=False)
    train, validation = inputs.make_datasets(
        data, entry, seed=0, train_fraction=0.02, batch_size=100, validation_size=1000)
    start = model.evaluate(validation, verbose=0, return_dict=True)
    history = training.fit(model, train, validation, max_epochs=epochs, verbose=0)
    return start, {key: values[-1] for key, values in history.history.items()}


@pytest.mark.slow
def test_acceptance_on_the_shapes_pipeline(shapes_data):
    """FC and conv learn to reconstruct; beta = 4 ends with a lower KL than beta = 0.

    3,738 training images (2%), batches of 100, 1,000 validation images. The conv decoder
    learns the dark background through few parameters (the last transposed convolution
    and the batch norm before it), about 1e-3 a step with Adam at the paper's rate: it
    gets there in a test-sized budget at 1e-2 (its first validation may overflow while
    batch norm's moving averages lag, which `training.fit` tolerates).
    """
    start, beta_zero = _train(shapes_data, "fc", beta=0.0, learning_rate=1e-3, epochs=3)
    _, beta_four = _train(shapes_data, "fc", beta=4.0, learning_rate=1e-3, epochs=3)
    for end in (beta_zero, beta_four):
        assert end["reconstruction_loss"] < 0.15 * start["reconstruction_loss"], end
        assert end["val_reconstruction_loss"] < 0.15 * start["reconstruction_loss"], end
    assert beta_four["val_kl_loss"] < 0.2 * beta_zero["val_kl_loss"], (beta_zero, beta_four)
    start, conv = _train(shapes_data, "conv", beta=1.0, learning_rate=1e-2, epochs=2)
    assert conv["reconstruction_loss"] < 0.3 * start["reconstruction_loss"], conv
    assert conv["val_reconstruction_loss"] < 0.3 * start["reconstruction_loss"], conv


class _Interrupt(keras.callbacks.Callback):
    """Raises KeyboardInterrupt (like a kill) when epoch `at` begins; records epochs begun."""

    def __init__(self, at=None):
        super().__init__()
        self.at, self.begun = at, []

    def on_epoch_begin(self, epoch, logs=None):
        self.begun.append(epoch)
        if epoch == self.at:
            raise KeyboardInterrupt


def test_a_killed_fit_resumes_from_its_last_epoch_with_early_stopping_state(tmp_path):
    # Learning rate 0: epoch 1 sets the best val_loss, never beaten; patience 2 stops after
    # 4 epochs. Killed as epoch 3 begins, the rerun must run epochs 3 and 4 only: had early
    # stopping's counter restarted, it would run 4 more.
    state_dir = tmp_path / "resume"
    first, second = _Interrupt(at=2), _Interrupt()
    with pytest.raises(KeyboardInterrupt):
        training.fit(_linear_model(0.0), _pairs(1, 2), _pairs(1, 3), patience=2, verbose=0,
                     callbacks=[first], resume_dir=state_dir, log_dir=tmp_path / "logs",
                     resume_interval_s=0)
    assert (state_dir / "state.json").is_file()
    history = training.fit(_linear_model(0.0), _pairs(1, 2), _pairs(1, 3), patience=2,
                           verbose=0, callbacks=[second], resume_dir=state_dir,
                           log_dir=tmp_path / "logs", resume_interval_s=0)
    assert (first.begun, second.begun) == ([0, 1, 2], [2, 3])
    assert history.resumed["epoch"] == 2 and history.resumed["training_s"] > 0
    assert len(history.history["val_loss"]) == 4  # the resumed epochs' history included
    assert json.loads((state_dir / "state.json").read_text())["stopped"]  # kept, finished
    with open(tmp_path / "logs" / "training.csv") as file:
        assert [row["epoch"] for row in csv.DictReader(file)] == ["0", "1", "2", "3"]


def test_a_resumed_fit_starts_from_the_saved_weights_and_optimizer(tmp_path):
    model = _linear_model(0.1)
    with pytest.raises(KeyboardInterrupt):
        training.fit(model, _pairs(1, 2), _pairs(1, 2), max_epochs=5, verbose=0,
                     callbacks=[_Interrupt(at=3)], resume_dir=tmp_path, resume_interval_s=0)
    saved = [np.array(weight) for weight in model.get_weights()]
    fresh = _linear_model(0.1)
    restored = []
    spy = keras.callbacks.LambdaCallback(
        on_train_begin=lambda logs: restored.append(fresh.get_weights()))
    training.fit(fresh, _pairs(1, 2), _pairs(1, 2), max_epochs=5, verbose=0, callbacks=[spy],
                 resume_dir=tmp_path)
    for actual, expected in zip(restored[0], saved):
        np.testing.assert_array_equal(actual, expected)
    assert int(fresh.optimizer.iterations) == 5  # the optimizer's step count came back too


def test_the_state_is_saved_at_most_once_per_interval(tmp_path):
    model = _linear_model(0.1)
    with pytest.raises(KeyboardInterrupt):
        training.fit(model, _pairs(1, 2), _pairs(1, 2), max_epochs=5, verbose=0,
                     callbacks=[_Interrupt(at=3)], resume_dir=tmp_path / "state",
                     resume_interval_s=3600)
    assert not (tmp_path / "state").exists()  # three quick epochs: no save yet


def test_a_resumed_log_drops_the_epochs_run_after_the_last_save(tmp_path):
    path = tmp_path / "training.csv"
    path.write_text("epoch,loss\n" + "".join(f"{epoch},{epoch}.5\n" for epoch in range(6)))
    training._keep_csv_epochs(path, 3)  # state saved after epoch 3; epochs 3-5 run again
    assert path.read_text() == "epoch,loss\n0,0.5\n1,1.5\n2,2.5\n"


def _small_denoiser():
    """A small denoising BetaVAE on 8x8 images: batch norm, reparameterisation draws, Adam."""
    from bvae_tf.models import BetaVAE

    model = BetaVAE(architecture="fc", image_shape=(8, 8, 1), latent_dim=3,
                    encoder_units=(16,), decoder_units=(16,), denoising=True, seed=0,
                    validation_statistics="batch_statistics")
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)
    return model


def _noisy_datasets():
    from bvae_tf.data import pipeline

    images = (np.random.default_rng(0).random((96, 8, 8)) > 0.5).astype("float32")
    return (pipeline.make_dataset(images[:64], batch_size=16, seed=3, noise=True),
            pipeline.make_dataset(images[64:], batch_size=16, seed=3, noise=True,
                                  shuffle=False))


def _interrupted_then_resumed(state_dir, at, max_epochs=5):
    """A fit interrupted as epoch `at` begins, then a fresh model resumed in its place."""
    with pytest.raises(KeyboardInterrupt):
        training.fit(_small_denoiser(), *_noisy_datasets(), max_epochs=max_epochs, verbose=0,
                     callbacks=[_Interrupt(at=at)], resume_dir=state_dir, resume_interval_s=0)
    model = _small_denoiser()
    return model, training.fit(model, *_noisy_datasets(), max_epochs=max_epochs, verbose=0,
                               resume_dir=state_dir, resume_interval_s=0)


def test_a_resumed_fit_is_the_uninterrupted_fit_bit_for_bit(tmp_path):
    # The epoch orders, the noise, the reparameterisation draws and Adam's state must all
    # continue where the interrupted fit left them.
    whole = _small_denoiser()
    expected = training.fit(whole, *_noisy_datasets(), max_epochs=5, verbose=0).history
    resumed, history = _interrupted_then_resumed(tmp_path / "state", at=3)
    assert history.resumed["epoch"] == 3 and history.processes == 2
    assert history.history == expected
    for actual, wanted in zip(resumed.get_weights(), whole.get_weights()):
        np.testing.assert_array_equal(actual, wanted)


def test_a_finished_fit_run_again_trains_nothing_and_returns_its_model(tmp_path):
    model, first = _interrupted_then_resumed(tmp_path / "state", at=2, max_epochs=3)
    again = _small_denoiser()
    spy = _Interrupt()
    second = training.fit(again, *_noisy_datasets(), max_epochs=3, verbose=0, callbacks=[spy],
                          resume_dir=tmp_path / "state")
    assert spy.begun == [] and second.history == first.history and second.processes == 3
    for actual, wanted in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(actual, wanted)


def test_a_rerun_with_fewer_max_epochs_than_trained_is_refused_and_keeps_the_state(tmp_path):
    _interrupted_then_resumed(tmp_path / "state", at=4, max_epochs=5)
    with pytest.raises(ValueError, match=r"has 5 epochs trained, more than max_epochs=2"):
        training.fit(_small_denoiser(), *_noisy_datasets(), max_epochs=2, verbose=0,
                     resume_dir=tmp_path / "state")
    assert json.loads((tmp_path / "state" / "state.json").read_text())["epoch"] == 5


def test_a_resume_under_other_settings_is_refused_naming_both(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        training.fit(_small_denoiser(), *_noisy_datasets(), max_epochs=4, verbose=0,
                     callbacks=[_Interrupt(at=2)], resume_dir=tmp_path / "state",
                     resume_interval_s=0, resume_settings={"validation_size": 1000})
    with pytest.raises(training.ResumeStateError,
                       match=r"validation_size: the state's 1000, this run's 2000"):
        training.fit(_small_denoiser(), *_noisy_datasets(), max_epochs=4, verbose=0,
                     resume_dir=tmp_path / "state", resume_settings={"validation_size": 2000})


@pytest.mark.parametrize("damage, message", [
    (lambda text: text[: len(text) // 2], "is not readable JSON"),
    (lambda text: text.replace('"best": ', '"best": NaN, "was": '), "has best nan"),
    (lambda text: text.replace('"format": 2', '"format": 1'), "has format 1"),
    (lambda text: "null", "holds NoneType"),
])
def test_a_damaged_resume_state_is_refused_naming_its_file(tmp_path, damage, message):
    with pytest.raises(KeyboardInterrupt):
        training.fit(_small_denoiser(), *_noisy_datasets(), max_epochs=4, verbose=0,
                     callbacks=[_Interrupt(at=2)], resume_dir=tmp_path / "state",
                     resume_interval_s=0)
    path = tmp_path / "state" / "state.json"
    path.write_text(damage(path.read_text()))
    with pytest.raises(training.ResumeStateError, match=message) as error:
        training.fit(_small_denoiser(), *_noisy_datasets(), max_epochs=4, verbose=0,
                     resume_dir=tmp_path / "state")
    assert str(path) in str(error.value) and "delete" in str(error.value)
