"""tf.data pipelines: noise statistics, merged last batch, reshuffles and new noise per epoch."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from bvae_tf.data import pipeline


def _ids(num, height=2, width=3):
    """Float images whose every pixel is the example's id / num: order is recoverable."""
    return np.repeat(np.arange(num, dtype=np.float32) / num, height * width).reshape(
        num, height, width, 1
    )


def _order(dataset, num):
    """Example ids of one pass over `dataset`, batch by batch."""
    return [np.rint(targets[:, 0, 0, 0].numpy() * num).astype(int) for _, targets in dataset]


@pytest.fixture(scope="module")
def binary_batch(shapes_data):
    return shapes_data.validation.images[:1000].astype(np.float32)[..., None]


def test_salt_and_pepper_flips_about_ten_percent_of_noisy_rows(binary_batch):
    noisy = pipeline.salt_and_pepper(binary_batch, tf.constant([4, 2])).numpy()
    flipped = (noisy != binary_batch).reshape(1000, -1).mean(axis=1)
    assert abs(flipped[:900].mean() - 0.1) < 0.01
    assert np.all(flipped[900:] == 0)
    assert set(np.unique(noisy)) == {0.0, 1.0}


def test_salt_and_pepper_is_half_salt_half_pepper():
    zeros = pipeline.salt_and_pepper(tf.zeros([100, 64, 64, 1]), [1, 1], noisy_fraction=1.0)
    ones = pipeline.salt_and_pepper(tf.ones([100, 64, 64, 1]), [1, 2], noisy_fraction=1.0)
    assert abs(float(tf.reduce_mean(zeros)) - 0.1) < 0.005  # salt on black
    assert abs(float(tf.reduce_mean(1.0 - ones)) - 0.1) < 0.005  # pepper on white
    grey = pipeline.salt_and_pepper(tf.fill([100, 28, 28, 1], 0.5), [1, 3], amount=0.4)
    values, counts = np.unique(grey.numpy()[:90], return_counts=True)
    np.testing.assert_allclose(counts / counts.sum(), [0.2, 0.6, 0.2], atol=0.01)
    np.testing.assert_array_equal(values, [0.0, 0.5, 1.0])


def test_salt_and_pepper_is_deterministic_by_seed(binary_batch):
    first = pipeline.salt_and_pepper(binary_batch, tf.constant([7, 7]))
    again = pipeline.salt_and_pepper(binary_batch, tf.constant([7, 7]))
    other = pipeline.salt_and_pepper(binary_batch, tf.constant([7, 8]))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    np.testing.assert_array_equal(
        pipeline.salt_and_pepper(binary_batch, [1, 2], amount=0.0), binary_batch
    )


@pytest.mark.parametrize(
    ("num", "sizes"), [(2500, [1000, 1500]), (3000, [1000] * 3), (999, [999]), (1999, [1999])]
)
def test_last_partial_batch_is_merged(num, sizes):
    dataset = pipeline.make_dataset(_ids(num), batch_size=1000)
    assert int(dataset.cardinality()) == len(sizes)
    order = _order(dataset, num)
    assert [len(batch) for batch in order] == sizes
    np.testing.assert_array_equal(np.sort(np.concatenate(order)), np.arange(num))


def test_each_epoch_reshuffles_and_seed_fixes_the_sequence():
    dataset = pipeline.make_dataset(_ids(3000), batch_size=500, seed=5)
    epochs = [np.concatenate(_order(dataset, 3000)) for _ in range(3)]
    assert not np.array_equal(epochs[0], epochs[1])
    assert not np.array_equal(epochs[1], epochs[2])
    again = pipeline.make_dataset(_ids(3000), batch_size=500, seed=5)
    for epoch in epochs:
        np.testing.assert_array_equal(np.concatenate(_order(again, 3000)), epoch)
    other = pipeline.make_dataset(_ids(3000), batch_size=500, seed=6)
    assert not np.array_equal(np.concatenate(_order(other, 3000)), epochs[0])
    fixed = pipeline.make_dataset(_ids(3000), batch_size=500, shuffle=False)
    np.testing.assert_array_equal(np.concatenate(_order(fixed, 3000)), np.arange(3000))


def test_packed_split_noise_on_inputs_only_and_new_each_epoch(shapes_data):
    split = shapes_data.test
    dataset = pipeline.make_dataset(split, batch_size=2000, shuffle=False, noise=True, take=2000)
    epochs = [[(inputs.numpy(), targets.numpy()) for inputs, targets in dataset] for _ in range(2)]
    images = split.images[:2000].astype(np.float32)[..., None]
    for batches in epochs:
        assert [inputs.shape for inputs, _ in batches] == [(2000, 64, 64, 1)]
        inputs, targets = batches[0]
        assert inputs.dtype == targets.dtype == np.float32
        np.testing.assert_array_equal(targets, images)
        flipped = (inputs != targets).reshape(2000, -1).mean(axis=1)
        assert abs(flipped[:1800].mean() - 0.1) < 0.01
        assert np.all(flipped[1800:] == 0)
    assert not np.array_equal(epochs[0][0][0], epochs[1][0][0])


def test_fixed_epochs_repeat_order_and_noise(shapes_data):
    dataset = pipeline.make_dataset(shapes_data.test, batch_size=500, noise=True, take=1000,
                                    seed=3, vary_each_epoch=False)
    first, second = ([inputs.numpy() for inputs, _ in dataset] for _ in range(2))
    assert len(first) == 2 and any((batch != 0).any() for batch in first)
    for one, two in zip(first, second):
        np.testing.assert_array_equal(one, two)


def test_clean_dataset_gives_identical_inputs_and_targets(shapes_data):
    dataset = pipeline.make_dataset(shapes_data.validation, batch_size=700, take=1500, seed=1)
    for inputs, targets in dataset:
        np.testing.assert_array_equal(inputs, targets)
    ids = shapes_data.factors_of(np.concatenate([t.numpy()[..., 0] for _, t in dataset]))
    expected = shapes_data.validation.factors[:1500]
    assert sorted(map(tuple, ids)) == sorted(map(tuple, expected))


def test_generic_arrays_are_accepted():
    grey = np.linspace(0, 1, 50 * 28 * 28, dtype=np.float32).reshape(50, 28, 28)
    inputs, _ = next(iter(pipeline.make_dataset(grey, batch_size=50, shuffle=False)))
    assert inputs.shape == (50, 28, 28, 1)
    np.testing.assert_allclose(inputs[..., 0], grey)
    bytes_ = (grey * 255).astype(np.uint8)
    inputs, _ = next(iter(pipeline.make_dataset(bytes_, batch_size=50, shuffle=False)))
    np.testing.assert_allclose(inputs[..., 0], bytes_ / 255.0, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"take": 0}, "take"),
        ({"amount": 1.5}, "amount"),
        ({"noisy_fraction": -0.1}, "noisy_fraction"),
        ({"seed": "0"}, "seed"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pipeline.make_dataset(_ids(10), **kwargs)


def test_bad_arrays_raise():
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        pipeline.make_dataset(np.zeros((4, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="amount"):
        pipeline.salt_and_pepper(tf.zeros([2, 4, 4, 1]), [0, 0], amount=2.0)


class _Recorder(keras.Model):
    """Records the first rows of every batch that `fit` feeds it."""

    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1)
        self.seen = []

    def call(self, inputs):
        return self.dense(keras.ops.reshape(inputs, (-1, 6)))

    def train_step(self, data):
        inputs, targets = data
        self.seen.append((inputs.numpy()[:, 0, 0, 0], targets.numpy()[:, 0, 0, 0]))
        return {"batches": tf.constant(float(len(self.seen)))}


def test_keras_fit_sees_new_order_and_noise_every_epoch():
    num = 400
    images = _ids(num)
    dataset = pipeline.make_dataset(images, batch_size=100, noise=True, amount=0.5, seed=3)
    model = _Recorder()
    model.compile(run_eagerly=True)
    model.fit(dataset, epochs=3, verbose=0, shuffle=False)
    assert len(model.seen) == 12
    targets = [
        np.concatenate([seen[1] for seen in model.seen[epoch * 4 : epoch * 4 + 4]])
        for epoch in range(3)
    ]
    inputs = [
        np.concatenate([seen[0] for seen in model.seen[epoch * 4 : epoch * 4 + 4]])
        for epoch in range(3)
    ]
    for epoch in range(3):
        np.testing.assert_array_equal(np.sort(np.rint(targets[epoch] * num)), np.arange(num))
    assert not np.array_equal(targets[0], targets[1])
    assert not np.array_equal(targets[1], targets[2])
    noise = [inputs[epoch] != targets[epoch] for epoch in range(3)]
    assert not np.array_equal(noise[0], noise[1])


def test_objects_with_images_are_accepted(mnist_npz):
    from bvae_tf.data import mnist

    split = mnist.load_mnist(mnist_npz).validation
    inputs, targets = next(iter(pipeline.make_dataset(split, batch_size=5000, shuffle=False)))
    assert inputs.shape == (5000, 28, 28, 1)
    np.testing.assert_array_equal(targets, split.images)


@pytest.mark.parametrize("noise", [False, True])
@pytest.mark.parametrize("vary_each_epoch", [True, False])
def test_device_batches_are_make_datasets_batches_bit_for_bit(shapes_data, noise,
                                                              vary_each_epoch):
    options = {"batch_size": 1000, "seed": 3, "noise": noise, "take": 2300,
               "vary_each_epoch": vary_each_epoch}
    host = pipeline.make_dataset(shapes_data.validation, **options)
    device = pipeline.DeviceBatches(shapes_data.validation, **options)
    tickets = device.tickets()
    epochs = []
    for _ in range(2):  # a second pass: the next epoch's order and noise, as fit sees them
        drawn = [device(ticket) for ticket in tickets]
        expected = list(host)
        assert [int(inputs.shape[0]) for inputs, _ in drawn] == [1000, 1300]
        for (inputs, targets), (want_inputs, want_targets) in zip(drawn, expected):
            np.testing.assert_array_equal(inputs.numpy(), want_inputs.numpy())
            np.testing.assert_array_equal(targets.numpy(), want_targets.numpy())
        epochs.append(drawn[0][0].numpy())
    assert np.array_equal(epochs[0], epochs[1]) != vary_each_epoch


def test_device_batches_hold_the_packed_split_and_tickets_carry_indices(shapes_data):
    device = pipeline.DeviceBatches(shapes_data.validation, batch_size=1000, noise=True)
    assert isinstance(device.table, tf.Variable) and not device.table.trainable
    assert device.table.dtype == tf.uint8
    assert tuple(device.table.shape) == shapes_data.validation.packed.shape  # 512 bytes each
    rows, seed = device.tickets().element_spec
    assert (rows.dtype, rows.shape.as_list(), seed.shape.as_list()) == (tf.int64, [None], [2])
    assert device.image_shape == (64, 64, 1) and device.denoising
    assert len(device) == len(shapes_data.validation) // 1000


def test_device_batches_check_their_arguments_as_make_dataset_does():
    with pytest.raises(ValueError, match="batch_size"):
        pipeline.DeviceBatches(_ids(10), batch_size=0)
    with pytest.raises(ValueError, match="amount"):
        pipeline.DeviceBatches(_ids(10), amount=2.0)


@pytest.mark.parametrize("value", [np.nan, 2.0, -0.5])
def test_float_images_outside_zero_one_are_refused_when_the_dataset_is_made(value):
    images = np.zeros((4, 8, 8), np.float32)
    images[1, 2, 3] = value
    with pytest.raises(ValueError, match=r"finite pixels in \[0, 1\]"):
        pipeline.make_dataset(images, batch_size=2)
