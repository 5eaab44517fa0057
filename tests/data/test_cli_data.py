"""`bvae-tf data`: builds or verifies the cache, prints the counts, draws a mosaic."""

import shutil

import pytest
from PIL import Image

from bvae_tf import cli
from bvae_tf.data import cache


def test_data_verifies_cache_and_writes_mosaic(shapes_cache_dir, shapes_data, tmp_path, capsys):
    out = tmp_path / "samples.png"
    code = cli.main(
        ["data", "--cache-dir", str(shapes_cache_dir), "--show", "6", "--out", str(out)]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "verified (sha256)" in printed
    assert str(shapes_data.path) in printed
    assert "89,007 / 89,693 / 92,160" in printed
    lines = {
        line.split()[0]: line.split()[1:]
        for line in printed.splitlines()
        if line.split() and line.split()[0] in ("train", "validation", "test", "total")
    }
    assert lines["train"] == ["62,305", "62,305", "62,305", "186,915"]
    assert lines["validation"] == ["13,351", "13,351", "13,351", "40,053"]
    assert lines["test"] == ["13,351", "13,351", "13,351", "40,053"]
    assert lines["total"] == ["89,007", "89,007", "89,007", "267,021"]
    assert f"mosaic of 6 training images to {out}" in printed
    with Image.open(out) as mosaic:
        assert mosaic.size == (3 * 128, 2 * (128 + 28))
        assert 0 < mosaic.convert("L").getextrema()[1] == 255


def test_data_rebuilds_a_truncated_cache_with_progress_bar(shapes_data, tmp_path, capsys):
    directory = cache.shapes_dir(tmp_path)
    shutil.copytree(shapes_data.path, directory)
    with open(directory / cache.GRID_FILE, "r+b") as stream:
        stream.truncate(1000)
    with pytest.warns(RuntimeWarning, match="corrupted.*grid.npy has 1000 bytes.*rebuilding"):
        code = cli.main(["data", "--cache-dir", str(tmp_path), "--seed", "3"])
    captured = capsys.readouterr()
    assert code == 0
    assert "shapes cache rebuilt in" in captured.out
    assert "splits (seed 3)" in captured.out
    assert "1080/1080" in captured.err
    assert cache.check(directory) is None
    assert not (tmp_path / "samples.png").exists()


def test_data_reports_unwritable_cache_dir(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = cli.main(["data", "--cache-dir", str(blocker / "cache")])
    assert code == 2
    assert "BVAE_TF_CACHE" in capsys.readouterr().err
