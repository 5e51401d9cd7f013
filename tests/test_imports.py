"""Import hygiene, checked in fresh interpreters: the engine never imports Streamlit, and the light
modules (config, registry, variants) do not pull in TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys

ENGINE_MODULES = [
    "ae_core",
    "ae_core.cli",
    "ae_core.trainer",
    "ae_core.analysis",
    "ae_core.config",
    "ae_core.data",
    "ae_core.registry",
    "ae_core.model",
    "ae_core.losses",
    "ae_core.layers",
]
HEAVY = ["tensorflow", "keras", "sklearn", "scipy"]

# Records every attempt to import streamlit, even one inside try/except ImportError, so the check
# means something whether or not Streamlit is installed here.
WATCH_STREAMLIT = """
import sys

class StreamlitWatch:
    attempts = []

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "streamlit":
            StreamlitWatch.attempts.append(name)
        return None

sys.meta_path.insert(0, StreamlitWatch())
"""


def run_python(repo_root, code: str) -> dict:
    """Run ``code`` in a fresh interpreter at the repository root; it prints one JSON object."""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_no_module_imports_streamlit(repo_root):
    code = (
        WATCH_STREAMLIT
        + f"""
import importlib, json, pkgutil
import ae_core.variants
modules = {ENGINE_MODULES!r} + [
    "ae_core.variants." + info.name for info in pkgutil.iter_modules(ae_core.variants.__path__)
]
for name in modules:
    importlib.import_module(name)
print(json.dumps({{
    "attempts": StreamlitWatch.attempts,
    "streamlit_loaded": any(m.partition(".")[0] == "streamlit" for m in sys.modules),
    "imported": [m for m in modules if m in sys.modules],
    "modules": modules,
    "tensorflow_loaded": "tensorflow" in sys.modules,
}}))
"""
    )
    report = run_python(repo_root, code)
    assert report["attempts"] == []
    assert report["streamlit_loaded"] is False
    assert report["imported"] == report["modules"]
    variant_modules = {m for m in report["modules"] if m.startswith("ae_core.variants.")}
    assert len(variant_modules) == 9  # base and the eight variants
    assert report["tensorflow_loaded"] is True  # the heavy modules really were imported


def test_the_watch_catches_a_streamlit_import(repo_root):
    # The check above is only as good as the watch: it must see a guarded import.
    code = (
        WATCH_STREAMLIT
        + """
import json
try:
    import streamlit  # noqa: F401
except ImportError:
    pass
print(json.dumps({"attempts": StreamlitWatch.attempts}))
"""
    )
    assert run_python(repo_root, code)["attempts"][:1] == ["streamlit"]


def test_config_alone_does_not_import_tensorflow(repo_root):
    code = f"""
import json, sys
import ae_core.config
print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))
"""
    assert run_python(repo_root, code) == []


def test_configs_and_the_variant_list_do_not_import_tensorflow(repo_root):
    # The command line reports a bad setting before it imports TensorFlow, which takes seconds.
    code = """
import json, sys
import ae_core.cli
from ae_core import registry
from ae_core.config import make_config
names = registry.available()
for name in names:
    make_config(name)
loaded = [m for m in ("tensorflow", "keras") if m in sys.modules]
print(json.dumps({"variants": len(names), "loaded": loaded}))
"""
    assert run_python(repo_root, code) == {"variants": 8, "loaded": []}


def app_files(repo_root) -> list:
    return [
        repo_root / "Home.py",
        *sorted((repo_root / "ui").glob("*.py")),
        *sorted((repo_root / "pages").glob("*.py")),
    ]


def test_the_app_files_never_import_tensorflow_or_keras_themselves(repo_root):
    import ast

    files = app_files(repo_root)
    assert len(files) >= 9  # home, the shared helpers and the seven pages
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            heavy = [n for n in names if n.partition(".")[0] in ("tensorflow", "keras")]
            assert not heavy, f"{path.name} imports {heavy}: pages reach TensorFlow via ae_core"


def test_the_app_helpers_load_without_tensorflow(repo_root):
    # The home and Train pages draw before any model is needed: TensorFlow loads with a view.
    code = """
import json, sys
import ui
print(json.dumps([m for m in ("tensorflow", "keras") if m in sys.modules]))
"""
    assert run_python(repo_root, code) == []
