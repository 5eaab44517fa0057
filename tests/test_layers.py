"""The package's layering: orchestration above sweeps, above the trial runner, above the parts.

Every `bvae_tf` import, at module level or inside a function, must point to a lower layer
(or stay inside its own subpackage). A back edge, e.g. the trial runner importing the sweep,
fails `test_the_package_has_no_back_edge` and names the file and line.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "bvae_tf"

# Top to bottom; a module may import only from layers below its own.
LAYERS = (
    ("cli",),
    ("reproduce", "reference"),
    ("tuning", "reports"),
    ("distributed", "kt_compat"),
    ("trial",),
    ("scoring", "inputs", "profiles", "recalibrated_export"),
    ("zoo", "training", "export", "serving", "metrics"),
    ("speed",),
    ("models", "data", "results"),
    ("distributions",),
)
LAYER_OF = {name: depth for depth, names in enumerate(LAYERS) for name in names}


def component(module):
    """`bvae_tf.metrics.mig` -> "metrics"; `bvae_tf` itself -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "bvae_tf" else None


def imported_modules(path):
    """Yields (line, module) for every bvae_tf import in a file, nested ones included."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "bvae_tf":
                for alias in node.names:
                    yield node.lineno, f"bvae_tf.{alias.name}"
            else:
                yield node.lineno, node.module


def back_edges(files):
    """Returns "file:line imports target" for every import that does not go down a layer.

    Args:
        files: dict, importing component name -> list of (file label, [(line, module)]).
    """
    found = []
    for source, entries in files.items():
        for label, imports in entries:
            for line, module in imports:
                target = component(module)
                if target is None or target == source:
                    continue
                if LAYER_OF[target] <= LAYER_OF[source]:
                    found.append(f"{label}:{line} imports {module} ({source} is layer "
                                 f"{LAYER_OF[source]}, {target} layer {LAYER_OF[target]})")
    return found


def package_imports():
    files = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent)
        module = ".".join(relative.with_suffix("").parts)
        source = component(module)
        if source is None or source == "__init__":
            continue
        files.setdefault(source, []).append((str(relative), list(imported_modules(path))))
    return files


def test_every_module_has_a_layer():
    unknown = sorted(set(package_imports()) - set(LAYER_OF))
    assert unknown == [], f"add {unknown} to LAYERS"


def test_the_package_has_no_back_edge():
    assert back_edges(package_imports()) == []


@pytest.mark.parametrize("source, module", [("trial", "bvae_tf.tuning"),
                                            ("zoo", "bvae_tf.trial"),
                                            ("tuning", "bvae_tf.reports.figures")])
def test_a_back_edge_or_a_sideways_edge_is_found(source, module):
    edges = back_edges({source: [("scratch.py", [(7, module)])]})
    assert len(edges) == 1 and edges[0].startswith("scratch.py:7 imports")
