"""The beta-VAE score: the paper's sampling, its known answers and disentanglement_lib's."""

import numpy as np
import pytest

from bvae_tf.metrics import beta_vae, beta_vae_score

SMALL = {"num_train": 6_000, "num_validation": 1_500, "num_test": 1_500}


class _FakeData:
    """4 factors of 2 values; the images show only the factors in `visible`."""

    num_factors = 4
    factors_num_values = (2, 2, 2, 2)

    def __init__(self, visible):
        self.visible = list(visible)

    def images_of(self, factors):
        return np.asarray(factors)[:, self.visible].reshape(len(factors), -1, 1)


def test_peychev2017_features_divide_by_their_own_maximum():
    codes1 = np.array([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]])
    codes2 = np.array([[0.0, 3.0, 1.0], [1.0, 1.0, 1.0]])
    features = beta_vae._peychev2017_features(codes1, codes2)
    np.testing.assert_allclose(features, [[0.0, 1.0, 0.5], [0.0, 0.0, 0.0]])


def test_higgins2017_features_average_over_the_batch():
    codes1 = np.array([[[0.0, 1.0], [2.0, 2.0]]])
    codes2 = np.array([[[1.0, 1.0], [0.0, 5.0]]])
    np.testing.assert_allclose(beta_vae._higgins2017_features(codes1, codes2), [[1.5, 1.5]])


def test_pixel_identical_pairs_are_redrawn():
    data = _FakeData(visible=[0, 1, 2])
    first, second, labels = beta_vae.sample_peychev2017_factors(
        data, 300, np.random.RandomState(0)
    )
    assert set(labels.tolist()) == {0, 1}  # changing the invisible factor 3 never survives
    assert np.all(np.any(first[:, :3] != second[:, :3], axis=1))


def test_invisible_factors_raise():
    with pytest.raises(ValueError, match="pixel-identical after 100 redraws"):
        beta_vae.sample_peychev2017_factors(_FakeData([0]), 10, np.random.RandomState(0))


def test_peychev2017_pairs_on_the_grid(shapes_data):
    first, second, labels = beta_vae.sample_peychev2017_factors(
        shapes_data, 3_000, np.random.RandomState(0)
    )
    assert np.bincount(first[:, 0]).tolist() == [1_000, 1_000, 1_000]
    changed = first != second
    assert np.all(changed.sum(axis=1) == 1) and not changed[:, 0].any()
    assert np.array_equal(np.argmax(changed, axis=1), labels + 1)
    assert np.all((np.bincount(labels) > 600) & (np.bincount(labels) < 900))
    assert np.all(second < np.asarray(shapes_data.factors_num_values))
    images = [shapes_data.images_of(factors).reshape(3_000, -1) for factors in (first, second)]
    assert np.all(np.any(images[0] != images[1], axis=1))


def test_oracle_with_the_paper_protocol_defaults(shapes_data, oracle):
    scores = beta_vae_score(shapes_data, oracle, random_state=0)
    assert scores["beta_vae"] >= 0.98
    assert scores["beta_vae"] == scores["beta_vae.test_accuracy"]
    assert scores["beta_vae.train_accuracy"] >= 0.98
    assert (scores["beta_vae.num_train"], scores["beta_vae.num_validation"],
            scores["beta_vae.num_test"]) == (35_001, 7_500, 7_500)
    assert 1 <= scores["beta_vae.epochs"] <= 10_000


def test_noise_scores_chance(shapes_data, noise):
    scores = beta_vae_score(
        shapes_data, noise, random_state=0, num_train=10_002, num_validation=3_000,
        num_test=3_000,
    )
    assert abs(scores["beta_vae"] - 0.25) <= 0.03


def test_rotated_oracle_stays_high(shapes_data, rotated):
    assert beta_vae_score(shapes_data, rotated, random_state=0, **SMALL)["beta_vae"] >= 0.98


def test_higgins2017_oracle_and_noise(shapes_data, oracle, noise):
    sizes = {"protocol": "higgins2017", "num_train": 1_000, "num_test": 500}
    oracle_scores = beta_vae_score(shapes_data, oracle, random_state=0, **sizes)
    noise_scores = beta_vae_score(shapes_data, noise, random_state=0, **sizes)
    assert oracle_scores["beta_vae"] >= 0.95
    assert abs(noise_scores["beta_vae"] - 0.2) <= 0.06
    assert oracle_scores["beta_vae.num_train"] == 1_000
    assert "beta_vae.validation_accuracy" not in oracle_scores


@pytest.mark.parametrize("protocol", ["peychev2017", "higgins2017"])
def test_same_random_state_same_numbers(shapes_data, make_encoder, protocol):
    options = {"protocol": protocol, "num_train": 300, "num_validation": 150, "num_test": 150,
               "max_epochs": 300, "batch_size": 8}
    for kind in ("oracle", "noise"):
        runs = [beta_vae_score(shapes_data, make_encoder(kind), 3, **options) for _ in range(2)]
        assert runs[0] == runs[1]
    other = beta_vae_score(shapes_data, make_encoder("noise"), 4, **options)
    assert other["beta_vae.train_accuracy"] != runs[0]["beta_vae.train_accuracy"]


def test_unknown_protocol_lists_both(shapes_data, oracle):
    with pytest.raises(ValueError, match="peychev2017.*higgins2017"):
        beta_vae_score(shapes_data, oracle, 0, protocol="higgins")


@pytest.mark.parametrize(
    "output, message",
    [
        (lambda images: np.zeros((len(images), 2, 2)), "shape"),
        (lambda images: np.zeros((len(images) - 1, 3)), "shape"),
        (lambda images: np.full((len(images), 3), np.nan), "NaN"),
        (lambda images: {"z_mean": np.zeros((len(images), 3))}, "dict"),
    ],
)
def test_malformed_encoder_outputs_raise(shapes_data, output, message):
    with pytest.raises(ValueError, match=message):
        beta_vae_score(shapes_data, output, 0, **SMALL)


def test_the_authors_stopping_rule_reaches_the_classifier(shapes_data, make_encoder):
    sizes = {"num_train": 2_000, "num_validation": 1_000, "num_test": 1_000}
    authors = beta_vae_score(shapes_data, make_encoder("oracle"), 0, **sizes,
                             **beta_vae.PEYCHEV2017_STOPPING)
    ours = beta_vae_score(shapes_data, make_encoder("oracle"), 0, **sizes)
    assert ours["beta_vae.epochs"] == 10_000 < authors["beta_vae.epochs"]
    assert authors["beta_vae"] >= 0.98
