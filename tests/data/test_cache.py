"""The on-disk cache: location, checksums, rebuild on corruption, concurrent builders."""

import json
import multiprocessing
import os
import shutil

import numpy as np
import pytest

from bvae_tf.data import cache, shapes


@pytest.fixture
def cache_copy(shapes_data, tmp_path):
    """A private copy of the session's valid cache (so corrupting it harms no one)."""
    shutil.copytree(shapes_data.path, tmp_path / cache.SUBDIR)
    return tmp_path


def test_default_cache_dir_honours_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "mine"))
    assert cache.default_cache_dir() == tmp_path / "mine"
    assert cache.shapes_dir() == tmp_path / "mine" / "shapes-v1"
    monkeypatch.delenv(cache.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.default_cache_dir() == tmp_path / "xdg" / "bvae_tf"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.default_cache_dir() == tmp_path / "home" / ".cache" / "bvae_tf"


def test_valid_cache_is_memory_mapped_and_checked(shapes_data):
    assert isinstance(shapes_data.packed_grid, np.memmap)
    assert shapes_data.packed_grid.shape == (276_480, 512)
    assert cache.check(shapes_data.path) is None
    manifest = json.loads((shapes_data.path / cache.MANIFEST_FILE).read_text())
    assert manifest["format_version"] == cache.FORMAT_VERSION
    grid_file = manifest["files"][cache.GRID_FILE]
    assert grid_file["sha256"] == cache.sha256_of(shapes_data.path / cache.GRID_FILE)
    assert grid_file["bytes"] == 276_480 * 512 + 128  # .npy header of 128 bytes


def _flip_a_byte(path):
    with open(path, "r+b") as stream:
        stream.seek(-1000, os.SEEK_END)
        value = stream.read(1)[0]
        stream.seek(-1000, os.SEEK_END)
        stream.write(bytes([value ^ 0x10]))


def test_flipped_byte_is_detected_and_rebuilt_with_a_warning(shapes_data, cache_copy):
    directory = cache_copy / cache.SUBDIR
    expected = json.loads((directory / cache.MANIFEST_FILE).read_text())["files"]
    _flip_a_byte(directory / cache.GRID_FILE)
    (directory / ".grid.npy.left_by_a_crash").write_bytes(b"partial")
    assert "sha256" in cache.check(directory)
    with pytest.warns(RuntimeWarning, match="corrupted.*sha256.*rebuilding"):
        data = shapes.load(cache_dir=cache_copy)
    assert cache.check(directory) is None
    assert json.loads((directory / cache.MANIFEST_FILE).read_text())["files"] == expected
    np.testing.assert_array_equal(data.train.indices, shapes_data.train.indices)
    np.testing.assert_array_equal(data.packed_grid[-10:], shapes_data.packed_grid[-10:])
    assert set(os.listdir(directory)) - {".lock"} == {*expected, cache.MANIFEST_FILE}


def _truncate(path):
    with open(path, "r+b") as stream:
        stream.truncate(os.path.getsize(path) - 512)


def _write(text):
    return lambda path: (path.parent / cache.MANIFEST_FILE).write_text(text)


def _remove_manifest(path):
    (path.parent / cache.MANIFEST_FILE).unlink()


# The rebuild after truncation runs in tests/data/test_cli_data.py (through the CLI).
@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_flip_a_byte, "grid.npy does not match its sha256"),
        (_truncate, "grid.npy has 141557376 bytes, expected 141557888"),
        (_write("{not json"), "manifest.json is unreadable"),
        (_write('{"format_version": 0, "files": {}}'), "format 0, expected 1"),
        (_remove_manifest, "manifest.json is missing"),
        (lambda path: path.unlink(), "grid.npy is missing"),
    ],
)
def test_damage_is_detected(cache_copy, damage, reason):
    directory = cache_copy / cache.SUBDIR
    damage(directory / cache.GRID_FILE)
    assert reason in cache.check(directory)


def test_missing_cache_is_reported_as_missing(tmp_path):
    assert cache.check(cache.shapes_dir(tmp_path)) == "missing"


def test_unwritable_cache_dir_raises_naming_the_fix(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with pytest.raises(ValueError, match="cache_dir.*BVAE_TF_CACHE"):
        shapes.load(cache_dir=blocker / "cache")
    monkeypatch.setenv(cache.CACHE_ENV, str(blocker / "cache"))
    with pytest.raises(ValueError, match="BVAE_TF_CACHE"):
        shapes.load()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only directories")
def test_read_only_cache_dir_raises(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(ValueError, match="cache_dir"):
            shapes.load(cache_dir=tmp_path)
    finally:
        tmp_path.chmod(0o700)


def test_two_processes_building_at_once_leave_a_valid_cache(shapes_data, tmp_path):
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        # With the lock: one process builds, the other waits and then finds it built.
        locked = pool.starmap(shapes.ensure_cache, [(tmp_path / "locked",)] * 2)
        # Without the lock: both write at once; atomic replaces keep every file whole.
        racing = cache.shapes_dir(tmp_path / "racing")
        racing.mkdir(parents=True)
        pool.starmap(shapes.build, [(racing,)] * 2)
    assert sorted(status for _, status in locked) == ["built", "cached"]
    expected = json.loads((shapes_data.path / cache.MANIFEST_FILE).read_text())["files"]
    for directory in (cache.shapes_dir(tmp_path / "locked"), racing):
        assert cache.check(directory) is None
        assert json.loads((directory / cache.MANIFEST_FILE).read_text())["files"] == expected
        left = set(os.listdir(directory)) - {".lock"}
        assert left == {cache.GRID_FILE, cache.INDEX_FILE, cache.MANIFEST_FILE}
