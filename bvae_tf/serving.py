"""TF Serving model config for a folder of exported encoders.

Exported encoders live in TF Serving's layout, one folder per servable with numbered
versions inside (`bvae_tf.export.export_encoder`). This module finds every servable under a
root folder and writes the `model_config_list` that `tensorflow_model_server
--model_config_file=...` reads, so one server serves them all.

Example:
    >>> import pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> version = root / "fc" / "fc-beta1.0-seed0" / "1"
    >>> version.mkdir(parents=True)
    >>> _ = (version / "saved_model.pb").write_bytes(b"")
    >>> [name for name, _ in find_servables(root)]
    ['fc-beta1.0-seed0']
    >>> print(model_config(root, base_path="/models"))
    model_config_list {
      config {
        name: 'fc-beta1.0-seed0'
        base_path: '/models/fc/fc-beta1.0-seed0'
        model_platform: 'tensorflow'
      }
    }
    <BLANKLINE>
"""

import os
import pathlib

from google.protobuf import text_encoding

CONFIG_NAME = "models.config"


def find_servables(root):
    """Lists the servables under `root`: folders holding numbered SavedModel versions.

    Hidden folders (a name starting with `.`, such as the staging folders an interrupted
    export leaves) are skipped.

    Args:
        root: str or Path, the folder to scan (any depth).

    Returns:
        A sorted list of `(name, path)`: the servable's folder name and its Path.

    Raises:
        ValueError: if two servables share a name (TF Serving needs unique names).
    """
    root = pathlib.Path(root)
    servables = {}
    for saved_model in sorted(root.glob("**/saved_model.pb")):
        version_dir = saved_model.parent
        hidden = any(part.startswith(".") for part in version_dir.relative_to(root).parts)
        if hidden or not version_dir.name.isdigit():
            continue
        servable = version_dir.parent
        name = servable.name
        if name in servables and servables[name] != servable:
            raise ValueError(
                f"Two servables are named {name!r}: {servables[name]} and {servable}. "
                "TF Serving needs unique names; rename or move one of them."
            )
        servables[name] = servable
    return sorted(servables.items())


def model_config(root, base_path=None):
    """Returns the text of a TF Serving `model_config_list` for the servables under `root`.

    Args:
        root: str or Path, the folder of exported encoders (e.g. `saved_models/`).
        base_path: str or None. The path at which the server will see `root` (e.g. `/models`
            inside the TF Serving container); None uses `root`'s absolute path.

    Returns:
        The config text, one `config { ... }` block per servable. Names and paths are
        escaped as protobuf text format strings (`'` as `\\'`, `\\` as `\\\\`, a newline as
        `\\n`), so any folder name reads back exactly.

    Raises:
        ValueError: if two servables share a name, or a name or path is not valid UTF-8.
    """
    root = pathlib.Path(root)
    prefix = base_path.rstrip("/") if base_path else str(root.resolve())
    blocks = []
    for name, servable in find_servables(root):
        base = f"{prefix}/{servable.relative_to(root).as_posix()}"
        blocks.append(
            "  config {\n"
            f"    name: '{_quote(name)}'\n"
            f"    base_path: '{_quote(base)}'\n"
            "    model_platform: 'tensorflow'\n"
            "  }\n"
        )
    return "model_config_list {\n" + "".join(blocks) + "}\n"


def _quote(text):
    """Escapes `text` for a single-quoted protobuf text format string (UTF-8, as TF reads)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            f"{text!r} is not valid UTF-8, which TF Serving's config needs: rename the folder."
        ) from None
    return text_encoding.CEscape(text, as_utf8=True)


def write_model_config(root, base_path=None):
    """Writes `<root>/models.config` atomically and returns its Path.

    Args:
        root: str or Path, the folder of exported encoders.
        base_path: str or None, see `model_config`.

    Returns:
        The Path of the written config.

    Raises:
        FileNotFoundError: if `root` does not exist.
        ValueError: if two servables share a name, or a name or path is not valid UTF-8.
    """
    root = pathlib.Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"No folder of exported encoders at {root}: train or sweep first, or pass the "
            "folder that holds `<entry>/<name>/<version>/saved_model.pb`."
        )
    target = root / CONFIG_NAME
    temporary = target.with_suffix(f".tmp{os.getpid()}")
    temporary.write_text(model_config(root, base_path), encoding="utf-8")
    os.replace(temporary, target)
    return target
