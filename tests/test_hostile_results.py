"""Property tests (hypothesis) of the results layout against hostile numbers and paths."""

import os
import pathlib

from hypothesis import given, settings
from hypothesis import strategies as st

from bvae_tf import results

FINITE = st.floats(min_value=0.0, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None, database=None)
@given(first=FINITE, second=FINITE, fractions=st.tuples(FINITE, FINITE) | st.none())
def test_distinct_numbers_give_distinct_trial_names_without_separators(first, second,
                                                                        fractions):
    """Issue 13, item 1: names are injective in beta and fraction, and stay one path part."""
    fraction_a, fraction_b = fractions or (None, None)
    name_a = results.trial_name("conv", first, 0, fraction_a)
    name_b = results.trial_name("conv", second, 0, fraction_b)
    assert (name_a == name_b) == (first == second and fraction_a == fraction_b)
    for name in (name_a, name_b):
        assert os.sep not in name and "/" not in name and "\\" not in name
        assert pathlib.PurePath(name).name == name and name not in (".", "..")


PARTS = st.sampled_from(["..", ".", "models", "a", "", "/", "x/..", "../.."])


@settings(max_examples=300, deadline=None, database=None)
@given(parts=st.lists(PARTS, min_size=1, max_size=6))
def test_resolve_inside_never_returns_a_path_outside(parts):
    """Issue 13, security note: whatever a record holds, the joined path stays inside."""
    root = pathlib.Path("/results/dir")
    relative = "/".join(parts)
    try:
        joined = results.resolve_inside(root, relative)
    except ValueError as error:
        assert "results directory" in str(error)
        return
    assert os.path.commonpath([root, os.path.normpath(joined)]) == str(root)
