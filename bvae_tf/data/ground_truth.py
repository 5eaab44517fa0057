"""The ground-truth data interface that every metric scores: a protocol and a grid base class.

`GroundTruthData` is disentanglement_lib's interface (`num_factors`, `factors_num_values`,
`observation_shape`, `sample_factors`, `sample_observations_from_factors`) plus two members
of this package: `factor_names`, which name every per-factor score (`mig.pos_x`), and
`images_of`, the exact images the paper's beta-VAE protocol compares to redraw identical
pairs. Any object with these members is ground-truth data (a `typing.Protocol`: no base class
needed); `bvae_tf.data.shapes.ShapesData`, `bvae_tf.data.dsprites.DSpritesData` and
`bvae_tf.data.shapes3d.Shapes3DData` are three.

`FactorGrid` implements the interface for images stored once per factor tuple in row-major
order (the last factor varies fastest, as dSprites, 3D Shapes and the shapes grid store
them): a subclass gives `images_at(rows)`. `ArrayGrid` holds the images in one array.

Example:
    >>> images = np.arange(6, dtype=np.uint8).reshape(6, 1, 1, 1)
    >>> data = ArrayGrid(images, factors_num_values=(2, 3), factor_names=("size", "hue"))
    >>> isinstance(data, GroundTruthData)
    True
    >>> data.images_of([[1, 0]]).ravel().tolist()
    [3]
    >>> factor_names_of(data)
    ('size', 'hue')
"""

import abc
import numbers
import typing

import numpy as np

__all__ = [
    "ArrayGrid",
    "FactorGrid",
    "GroundTruthData",
    "factor_index",
    "factor_names_of",
    "row_major_sizes",
]


@typing.runtime_checkable
class GroundTruthData(typing.Protocol):
    """What the metrics need of a dataset with known generative factors.

    Factors are integer tuples: factor j takes the values 0..factors_num_values[j] - 1.

    Attributes:
        num_factors: int, the number of factors.
        factors_num_values: sequence of int, the number of values of each factor.
        factor_names: sequence of str, one distinct name per factor (per-factor scores
            are keyed `<metric>.<name>`).
        observation_shape: sequence of int, one image's shape (height, width, channels):
            any size and any number of channels.
    """

    num_factors: int
    factors_num_values: typing.Sequence[int]
    factor_names: typing.Sequence[str]
    observation_shape: typing.Sequence[int]

    def sample_factors(self, num, random_state):
        """int array (num, num_factors): factor tuples drawn uniformly over the grid."""

    def sample_observations_from_factors(self, factors, random_state):
        """float32 array (num, *observation_shape) in [0, 1]: an image of each tuple."""

    def images_of(self, factors):
        """array (num, ...): the stored images of the tuples, for exact comparisons."""


def factor_names_of(data):
    """The names of `data`'s factors: its `factor_names`, else `factor_0`, `factor_1`, ...

    Args:
        data: ground-truth data; objects without `factor_names` get positional names.

    Returns:
        tuple of str, one per factor.

    Raises:
        ValueError: if the names are not `num_factors` distinct non-empty strings.

    Example:
        >>> class Unnamed:
        ...     num_factors = 2
        >>> factor_names_of(Unnamed())
        ('factor_0', 'factor_1')
    """
    names = getattr(data, "factor_names", None)
    if names is None:
        return tuple(f"factor_{j}" for j in range(data.num_factors))
    return _checked_names(names, data.num_factors, "data.factor_names")


def _checked_names(names, num_factors, argument):
    names = tuple(names)
    if (len(names) != num_factors or len(set(names)) != len(names)
            or not all(isinstance(name, str) and name for name in names)):
        raise ValueError(
            f"`{argument}` must be {num_factors} distinct non-empty strings, one per factor, "
            f"got {names!r}."
        )
    return names


def factor_index(data, factor, name="factor"):
    """Column of a factor given by its index or its name.

    Args:
        data: ground-truth data.
        factor: int in [0, num_factors) or str, one of `factor_names_of(data)`.
        name: str, the argument name for error messages.

    Returns:
        int.

    Raises:
        ValueError: for an unknown name or an index out of range.

    Example:
        >>> factor_index(ArrayGrid(np.zeros((2, 1, 1)), (2,), ("shape",)), "shape")
        0
    """
    names = factor_names_of(data)
    if isinstance(factor, str) and factor in names:
        return names.index(factor)
    if isinstance(factor, numbers.Integral) and not isinstance(factor, bool) \
            and 0 <= factor < len(names):
        return int(factor)
    raise ValueError(
        f"`{name}` must be a factor name in {list(names)} or an index 0..{len(names) - 1}, "
        f"got {factor!r}."
    )


class FactorGrid(abc.ABC):
    """Ground-truth data stored as one image per factor tuple, in row-major order.

    Row r holds the image of the tuple `np.unravel_index(r, factors_num_values)`. Subclasses
    implement `images_at`.

    Args:
        factors_num_values: sequence of int >= 1, the number of values of each factor.
        factor_names: sequence of distinct str, one per factor.
        observation_shape: sequence of int, (height, width, channels) of one image.
        scale: float, default 1.0: `sample_observations_from_factors` returns
            `images_of(...) * scale` as float32 (1 / 255 for uint8 colour images).
    """

    def __init__(self, factors_num_values, factor_names, observation_shape, scale=1.0):
        self.factors_num_values = [int(size) for size in factors_num_values]
        if not self.factors_num_values or min(self.factors_num_values) < 1:
            raise ValueError(
                "`factors_num_values` must be a non-empty sequence of integers >= 1, got "
                f"{list(factors_num_values)!r}."
            )
        self.num_factors = len(self.factors_num_values)
        self.factor_names = _checked_names(factor_names, self.num_factors, "factor_names")
        self.observation_shape = [int(size) for size in observation_shape]
        self.scale = float(scale)

    @abc.abstractmethod
    def images_at(self, rows):
        """Images at grid rows (int64 (num,)): array (num, ...) in the stored dtype."""

    def grid_index(self, factors):
        """Grid rows of factor tuples, int64 (num,), after checking their shape and range.

        Raises:
            ValueError: if `factors` is not (num, num_factors) integers within range.
        """
        array = np.asarray(factors)
        array = array[None] if array.ndim == 1 else array
        if array.ndim != 2 or array.shape[1] != self.num_factors or (
                array.size and array.dtype.kind not in "iu"):
            raise ValueError(
                f"`factors` must be integers of shape (num, {self.num_factors}), columns "
                f"{list(self.factor_names)}, got shape {np.shape(factors)} of "
                f"{np.asarray(factors).dtype}."
            )
        bad = (array < 0) | (array >= np.asarray(self.factors_num_values))
        if bad.any():
            row, column = np.argwhere(bad)[0]
            raise ValueError(
                f"`factors` has {self.factor_names[column]} = {array[row, column]}, out of "
                f"range 0..{self.factors_num_values[column] - 1}."
            )
        return np.ravel_multi_index(tuple(array.T.astype(np.int64)), self.factors_num_values)

    def sample_factors(self, num, random_state):
        """Factor tuples drawn uniformly and independently: int64 (num, num_factors)."""
        if isinstance(num, bool) or not isinstance(num, numbers.Integral) or num < 0:
            raise ValueError(f"`num` must be an integer >= 0, got {num!r}.")
        from sklearn.utils import check_random_state  # deferred: sklearn takes ~1 s to import

        random_state = check_random_state(random_state)
        columns = [random_state.randint(size, size=num) for size in self.factors_num_values]
        return np.stack(columns, axis=1).astype(np.int64).reshape(num, self.num_factors)

    def sample_observations_from_factors(self, factors, random_state):
        """float32 (num, *observation_shape): `images_of(factors) * scale` (exact images)."""
        del random_state  # every tuple has one image
        images = np.asarray(self.images_of(factors), np.float32) * np.float32(self.scale)
        return images.reshape(len(images), *self.observation_shape)

    def images_of(self, factors):
        """Stored images of factor tuples (num, ...); see `grid_index` for the checks."""
        return self.images_at(self.grid_index(factors))

    def __repr__(self):
        factors = ", ".join(f"{name}={size}" for name, size in
                            zip(self.factor_names, self.factors_num_values))
        return f"{type(self).__name__}({factors}, observation_shape={self.observation_shape})"


class ArrayGrid(FactorGrid):
    """A `FactorGrid` over one in-memory array of images: your own data in one line.

    Args:
        images: array (prod(factors_num_values), height, width[, channels]), row-major.
        factors_num_values: sequence of int >= 1.
        factor_names: sequence of distinct str, one per factor.
        scale: float, default 1.0, see `FactorGrid`.

    Raises:
        ValueError: if `images` does not hold one image per factor tuple.
    """

    def __init__(self, images, factors_num_values, factor_names, scale=1.0):
        images = np.asarray(images)
        shape = images.shape[1:] + ((1,) if images.ndim == 3 else ())
        super().__init__(factors_num_values, factor_names, shape, scale)
        if images.ndim not in (3, 4) or len(images) != np.prod(self.factors_num_values):
            raise ValueError(
                f"`images` must hold one image per factor tuple, (num, height, width[, "
                f"channels]) with num = {int(np.prod(self.factors_num_values))} "
                f"(the product of {self.factors_num_values}), got shape {images.shape}."
            )
        self.images = images

    def images_at(self, rows):
        """The images at grid rows: `images[rows]`."""
        return self.images[rows]


def row_major_sizes(factors):
    """The factors' numbers of values if `factors` lists the whole grid in row-major order.

    Args:
        factors: int array (num, num_factors), the factor tuple of each stored image.

    Returns:
        list of int, or None when the rows are not every tuple once in row-major order.

    Example:
        >>> row_major_sizes([[0, 0], [0, 1], [1, 0], [1, 1]])
        [2, 2]
        >>> row_major_sizes([[0, 0], [1, 0], [0, 1], [1, 1]]) is None
        True
    """
    factors = np.asarray(factors)
    if factors.ndim != 2 or not len(factors) or factors.dtype.kind not in "iu":
        return None
    sizes = (factors.max(axis=0).astype(np.int64) + 1).tolist()
    if np.prod(sizes) != len(factors) or factors.min() < 0:
        return None
    expected = np.stack(np.unravel_index(np.arange(len(factors)), sizes), axis=1)
    return sizes if np.array_equal(factors, expected) else None
