"""Runs the `Example:` sections of every public module's docstrings (STYLE.md rule 7)."""

import doctest
import importlib
import pkgutil

import pytest

import bvae_tf


def _module_names():
    for info in pkgutil.walk_packages(bvae_tf.__path__, prefix="bvae_tf."):
        yield info.name


@pytest.mark.parametrize("module_name", sorted(_module_names()))
def test_docstring_examples_run(module_name):
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {module_name}"
