"""Both encoders (a loaded SavedModel and `BetaVAE.encode`) refuse bad images clearly.

Issue 13, item 4: they used to encode anything, e.g. uint8 images of 255 into codes near
900, and NaN images into NaN codes. The property test feeds them random bad arrays and
expects a ValueError naming `images`, never another exception and never codes.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bvae_tf import export, zoo

SHAPE = (28, 28, 1)


@pytest.fixture(scope="module")
def encoders(tmp_path_factory):
    """`{"exported": Encoder, "in_memory": BetaVAE.encode}` of one tiny MNIST model."""
    model = zoo.mnist_fc(latent_dim=2)
    path = export.export_encoder(model, tmp_path_factory.mktemp("encoders"), "mnist_fc")
    return {"exported": export.load_encoder(path), "in_memory": model.encode}


def _images(value, dtype=np.float32, count=2):
    images = np.full((count, *SHAPE), 0.5, dtype)
    images[-1, 3, 4, 0] = value
    return images


REFUSED = {
    "uint8 of 255": (np.full((2, *SHAPE), 255, np.uint8), r"images are uint8 .* / 255"),
    "uint8 of 0/1": (np.ones((2, *SHAPE), np.uint8), r"images are uint8 .* / 255"),
    "NaN": (_images(np.nan), r"images hold 1 NaN and 0 infinite values"),
    "inf": (_images(np.inf, np.float64), r"images hold 0 NaN and 1 infinite values"),
    "negative": (_images(-0.25), r"images must hold pixels in \[0, 1\]; got values from -0.25"),
    "grey levels": (_images(255.0), r"images must hold pixels in \[0, 1\].* to 255.0.*/ 255"),
    "int 2": (_images(2, np.int64), r"images must hold pixels in \[0, 1\]"),
    "complex": (_images(0.5 + 1j, np.complex64), r"images have dtype complex64"),
    "strings": (np.full((2, *SHAPE), "0.5"), r"images have dtype <U3"),
    "objects": (np.full((2, *SHAPE), None, object), r"images have dtype object"),
    "ragged": ([np.zeros(SHAPE), np.zeros((27, 28, 1))], r"images must be an array"),
    "no images": (np.zeros((0, *SHAPE), np.float32), r"images are empty"),
    "wrong size": (np.zeros((2, 64, 64, 1), np.float32),
                   r"expected images of shape \(batch, 28, 28, 1\)"),
}


@pytest.mark.parametrize("kind", ["exported", "in_memory"])
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_bad_images_are_refused_with_the_fix(encoders, kind, case):
    images, message = REFUSED[case]
    with pytest.raises(ValueError, match=message):
        encoders[kind](images)


@pytest.mark.parametrize("kind", ["exported", "in_memory"])
def test_every_real_dtype_of_pixels_in_the_unit_range_encodes_alike(encoders, kind):
    pixels = (np.random.default_rng(0).random((3, *SHAPE)) > 0.5)
    expected = encoders[kind](pixels.astype(np.float32))
    assert expected.shape == (3, 2) and np.isfinite(expected).all()
    for images in (pixels, pixels.astype(np.int64), pixels.astype(np.float64),
                   pixels.astype(np.float16), pixels[..., 0].tolist()):
        np.testing.assert_allclose(encoders[kind](images), expected, atol=1e-6)


BAD_VALUES = st.sampled_from([np.nan, np.inf, -np.inf, -1e-6, 1.001, 2.0, -3.0, 1e300])
FLOATS = st.sampled_from([np.float16, np.float32, np.float64])
BAD_DTYPES = st.sampled_from([np.uint8, np.complex64, np.complex128, "U4", "S4", object,
                              "datetime64[s]", "timedelta64[s]"])


@st.composite
def bad_values(draw):
    """Right shape and a float dtype, with one NaN, infinite or out-of-range pixel."""
    count = draw(st.integers(1, 3))
    dtype = draw(FLOATS)
    images = np.full((count, *SHAPE), draw(st.floats(0, 1)), np.float64)
    index = tuple(draw(st.integers(0, size - 1)) for size in images.shape)
    images[index] = draw(BAD_VALUES)
    with np.errstate(over="ignore"):
        return images.astype(dtype)


@st.composite
def bad_shapes(draw):
    """Any shape but (N >= 1, 28, 28, 1) and (N >= 1, 28, 28)."""
    shape = tuple(draw(st.lists(st.sampled_from([0, 1, 2, 3, 27, 28, 29]), max_size=5)))
    if shape[1:] in (SHAPE, SHAPE[:2]) and shape[0] >= 1:
        shape = (*shape, 2)
    return np.zeros(shape, draw(FLOATS))


@st.composite
def bad_dtypes(draw):
    """Right shape, pixels 0 or 1, in a dtype the encoders refuse."""
    return np.zeros((draw(st.integers(1, 2)), *SHAPE)).astype(draw(BAD_DTYPES))


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(images=st.one_of(bad_values(), bad_shapes(), bad_dtypes()),
       kind=st.sampled_from(["exported", "in_memory"]))
def test_random_bad_arrays_get_a_value_error_naming_images(encoders, images, kind):
    with pytest.raises(ValueError) as raised:
        encoders[kind](images)
    assert "images" in str(raised.value)


def _saved(tmp_path, name, serve, input_spec):
    """A SavedModel with a `serving_default` signature made of `serve` (a hostile encoder)."""
    import tensorflow as tf

    module = tf.Module()
    module.serve = tf.function(serve, input_signature=[input_spec])
    path = tmp_path / name / "1"
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    return path


def _hostile(tmp_path, case):
    import tensorflow as tf

    float_images = tf.TensorSpec([None, 28, 28, 1], tf.float32, name="images")
    if case == "unknown latent size":
        def serve(images):
            codes = tf.reshape(images, [tf.shape(images)[0], -1])[:, :tf.shape(images)[1]]
            return {"z_mean": codes, "z_log_var": codes}
        return _saved(tmp_path, case, serve, float_images)
    if case == "float64 images":
        def serve(images):
            codes = tf.cast(tf.reshape(images, [-1, 784])[:, :4], tf.float32)
            return {"z_mean": codes, "z_log_var": codes}
        return _saved(tmp_path, case, serve,
                      tf.TensorSpec([None, 28, 28, 1], tf.float64, name="images"))
    if case == "huge latent size":
        def serve(images):
            codes = tf.tile(tf.reshape(images, [-1, 784]), [1, 131])[:, :102_400]
            return {"z_mean": codes, "z_log_var": codes}
        return _saved(tmp_path, case, serve, float_images)

    def serve(images):  # fails at run time
        codes = tf.reshape(images, [-1, 784])[:, :4]
        tf.debugging.assert_less(tf.reduce_sum(images), -1.0, message="hostile op")
        return {"z_mean": codes, "z_log_var": codes}
    return _saved(tmp_path, case, serve, float_images)


@pytest.mark.parametrize("case, message", [
    ("unknown latent size", "its latent size is unknown"),
    ("float64 images", "its input 'images' is float64, not float32"),
    ("huge latent size", "its latent size 102400 is over 4096"),
    ("an op that fails", r"failed on images of shape \(2, 28, 28, 1\) \(InvalidArgumentError"),
])
def test_a_hostile_encoder_gets_a_clear_error_naming_it(tmp_path, case, message):
    path = _hostile(tmp_path, case)
    with pytest.raises(ValueError, match=message) as error:
        export.load_encoder(path)(np.zeros((2, *SHAPE), np.float32))
    assert str(path) in str(error.value)
