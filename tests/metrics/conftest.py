"""Encoders with known answers on the real shapes grid: oracle, rotated oracle, pure noise.

The oracle reads each image's factors from the grid (`data.factors_of`, so symmetric
rotations of a square read as their first grid occurrence), scales them to [0, 1] and
appends a constant code and a code of small noise. The rotated oracle multiplies its 5
factor codes by a fixed random orthogonal matrix (every code then mixes the factors). The noise encoder ignores the images.
"""

import numpy as np
import pytest

NOISE_SCALE = 1e-3


def oracle_encoder(data, seed=0):
    """Codes (N, 7): the 5 factors scaled to [0, 1], a constant 0.5, noise of scale 1e-3."""
    scale = 1.0 / (np.asarray(data.factors_num_values) - 1.0)
    noise = np.random.RandomState(seed)

    def encode(images):
        factors = data.factors_of(images) * scale
        constant = np.full((len(factors), 1), 0.5)
        return np.hstack([factors, constant, NOISE_SCALE * noise.rand(len(factors), 1)])

    return encode


def rotated_encoder(data, seed=0):
    """The oracle with its 5 factor codes multiplied by a random orthogonal matrix (seeded)."""
    oracle = oracle_encoder(data, seed)
    rotation = np.linalg.qr(np.random.RandomState(1000 + seed).randn(5, 5))[0]

    def encode(images):
        codes = oracle(images)
        codes[:, :5] = codes[:, :5] @ rotation
        return codes

    return encode


def noise_encoder(latent_dim=10, seed=0):
    """Standard normal codes that ignore the images."""
    noise = np.random.RandomState(seed)
    return lambda images: noise.randn(len(images), latent_dim)


@pytest.fixture
def oracle(shapes_data):
    return oracle_encoder(shapes_data)


@pytest.fixture
def rotated(shapes_data):
    return rotated_encoder(shapes_data)


@pytest.fixture
def noise():
    return noise_encoder()


@pytest.fixture
def make_encoder(shapes_data):
    """Factory of fresh encoders: make_encoder("oracle" | "rotated" | "noise", seed=0)."""

    def make(kind, seed=0):
        if kind == "noise":
            return noise_encoder(seed=seed)
        return {"oracle": oracle_encoder, "rotated": rotated_encoder}[kind](shapes_data, seed)

    return make
