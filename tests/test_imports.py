"""Import hygiene, checked in fresh interpreters: the engine never imports Streamlit, and the light
modules (config, registry, variants) do not pull in TensorFlow; and, read from the source, no
ae_core module imports itself through others."""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import ae_core

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


def test_importing_the_app_helpers_leaves_streamlit_as_it_is(repo_root):
    # Streamlit's per-run clean-up is switched off by the page header, which every page calls
    # first, not as a side effect of an import; switching it off twice is the same as once.
    code = """
import json
from streamlit.runtime.scriptrunner import script_runner
streamlits = script_runner._clean_problem_modules
import ui
from ui import session
imported = script_runner._clean_problem_modules is streamlits
session.keep_keras_state()
session.keep_keras_state()
print(json.dumps([imported, script_runner._clean_problem_modules is session._clean_nothing]))
"""
    assert run_python(repo_root, code) == [True, True]


# --- no import cycle among the engine's modules ---------------------------------------------------

PACKAGE_DIR = Path(ae_core.__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``source`` imports when it runs: at the top or inside a
    function alike, but not under ``if TYPE_CHECKING:`` (annotations only, never run).
    ``from a import b`` counts as importing ``a.b`` when that is a module, else ``a``."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "ae_core imports by absolute names"
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
    return found & known


def import_graph() -> dict[str, set[str]]:
    """Each ae_core module and the ae_core modules it imports. The registry's loading of the
    variant modules by name at run time is not an import here: each variant imports the
    registry to register itself, so that pair is how registration works, not a cycle."""
    paths = {module_name(path): path for path in PACKAGE_DIR.rglob("*.py")}
    known = set(paths)
    return {
        name: imported_modules(path.read_text(encoding="utf-8"), known) - {name}
        for name, path in paths.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as the modules along it (first and last the same), or [] if none."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str]:
        if name in path:
            return path[path.index(name) :] + [name]
        if name in done:
            return []
        for imported in sorted(graph.get(name, ())):
            cycle = visit(imported, [*path, name])
            if cycle:
                return cycle
        done.add(name)
        return []

    for name in sorted(graph):
        cycle = visit(name, [])
        if cycle:
            return cycle
    return []


def test_the_scan_sees_imports_inside_functions_and_skips_type_checking_ones():
    known = {"ae_core.config", "ae_core.registry", "ae_core.model", "ae_core.errors"}
    source = (
        "from typing import TYPE_CHECKING\n"
        "from ae_core.errors import ConfigError\n"
        "if TYPE_CHECKING:\n    from ae_core.model import Autoencoder\n"
        "def make():\n    from ae_core import registry\n"
    )
    assert imported_modules(source, known) == {"ae_core.errors", "ae_core.registry"}
    planted = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(planted) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "d": {"a", "b"}}) == []


def test_the_scan_covers_every_engine_module_and_each_imports():
    graph = import_graph()
    walked = {info.name for info in pkgutil.walk_packages(ae_core.__path__, "ae_core.")}
    assert set(graph) == walked | {"ae_core"}
    assert "ae_core.registry" in graph["ae_core.config"], "config asks the registry (in a function)"
    for name in sorted(set(graph) - {"ae_core.__main__"}):  # importing it runs the command line
        importlib.import_module(name)


def test_no_engine_module_imports_itself_through_others():
    cycle = find_cycle(import_graph())
    assert cycle == [], "import cycle: " + " -> ".join(cycle)


def test_the_bottom_modules_import_no_engine_module_above_them():
    # errors is imported by every layer; the registry, which config asks, needs nothing of config;
    # the variants' base knows the config's field names but takes a RunConfig for its
    # annotations only.
    graph = import_graph()
    assert graph["ae_core.errors"] == set()
    assert graph["ae_core.registry"] == {"ae_core.errors", "ae_core.variants"}  # the package
    assert graph["ae_core.variants.base"] == {"ae_core.config", "ae_core.model"}
