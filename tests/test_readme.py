"""The README's "Your own data" code runs as written (a small dSprites file stands in)."""

import dataclasses
import hashlib
import pathlib
import re

import pytest

from bvae_tf.data import dsprites

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def section_code(title):
    """The python blocks of the README section `## title`, in order."""
    text = README.read_text(encoding="utf-8")
    section = text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_your_own_data_scores_an_array_grid_by_factor_name(capsys):
    code = section_code("Your own data")[0]
    exec(compile(code, "README.md (Your own data, block 1)", "exec"), {})  # noqa: S102 (the README's own code)
    printed = capsys.readouterr().out
    assert "'mig.hue'" in printed and "'mig.pos_x'" in printed
    assert float(re.search(r"'mig': ([0-9.]+)", printed).group(1)) >= 0.95


@pytest.mark.slow
def test_your_own_data_trains_and_scores_on_dsprites(dsprites_file, monkeypatch, capsys):
    path = dsprites_file[0]
    monkeypatch.setenv("BVAE_TF_DSPRITES", str(path))
    checksum = hashlib.md5(path.read_bytes()).hexdigest()  # the stand-in passes the check
    monkeypatch.setattr(dsprites, "SOURCE", dataclasses.replace(dsprites.SOURCE,
                                                                checksum=checksum))
    code = section_code("Your own data")[1]
    exec(compile(code, "README.md (Your own data, block 2)", "exec"), {})  # noqa: S102 (the README's own code)
    mig, mig_pos_x, score = map(float, capsys.readouterr().out.split()[-3:])
    assert 0.0 <= mig_pos_x <= 1.0 and 0.0 <= mig <= 1.0 and 0.0 <= score <= 1.0
