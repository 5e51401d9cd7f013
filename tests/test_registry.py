"""Tests for ae_core.registry and the variant classes: names, defaults, options, and that
variant-specific logic lives with the variants rather than in `if variant == ...` branches."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from ae_core import registry
from ae_core.config import RunConfig, field_names, make_config
from ae_core.errors import ConfigError
from ae_core.variants.base import (
    AUTOENCODER,
    EVERY_VARIANT,
    LAYERS,
    NOISE,
    SPARSITY,
    TRAINING,
    Variant,
)

EXPECTED = ["denoising", "layerwise", "linear", "sparse_kl", "sparse_l1", "stacked", "tied", "vae"]
PACKAGE_DIR = Path(registry.__file__).resolve().parent
VARIANTS_DIR = PACKAGE_DIR / "variants"


def modules_outside_variants() -> list[Path]:
    """Every ae_core source file except the variant modules and the registry."""
    return sorted(
        path
        for path in PACKAGE_DIR.rglob("*.py")
        if VARIANTS_DIR not in path.parents and path.name != "registry.py"
    )


def names_in(node: ast.AST) -> set[str]:
    """Identifiers and attribute names used in an expression (``config.variant`` -> variant)."""
    found = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            found.add(child.id)
        elif isinstance(child, ast.Attribute):
            found.add(child.attr)
    return found


def variant_name_comparisons(source: str) -> list[int]:
    """Lines comparing something called *variant* with a variant name given as a string literal."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        literals = {
            item.value
            for operand in operands
            for item in ast.walk(operand)
            if isinstance(item, ast.Constant) and isinstance(item.value, str)
        }
        about_variant = any(
            "variant" in name.lower() for operand in operands for name in names_in(operand)
        )
        if about_variant and literals & set(EXPECTED):
            lines.append(node.lineno)
    return sorted(lines)


# --- the names ------------------------------------------------------------------------------------


def test_available_lists_exactly_the_eight_variants():
    assert registry.available() == EXPECTED


def test_get_returns_the_registered_instance():
    for name in EXPECTED:
        variant = registry.get(name)
        assert isinstance(variant, Variant)
        assert variant.name == name
        assert registry.get(name) is variant
        assert variant.summary.strip()


@pytest.mark.parametrize("name", ["nope", "", "Stacked", None, ["stacked"]])
def test_unknown_name_lists_the_variants(name):
    with pytest.raises(ConfigError) as caught:
        registry.get(name)
    assert caught.value.field == "variant"
    message = str(caught.value)
    assert repr(name) in message
    assert message.endswith("available variants: " + ", ".join(EXPECTED))


def test_registering_a_duplicate_name_raises_and_keeps_the_original():
    original = registry.get("stacked")

    class Impostor(Variant):
        name = "stacked"
        summary = "not the real one"

    with pytest.raises(ValueError, match="'stacked' is already registered"):
        registry.register(Impostor)
    assert registry.get("stacked") is original
    assert registry.available() == EXPECTED


def files_naming(value: str, paths: list[Path]) -> list[str]:
    """The files among ``paths`` with the string literal ``value`` (exactly) in their code."""
    return [
        path.name
        for path in paths
        if any(
            isinstance(node, ast.Constant) and node.value == value
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        )
    ]


def test_the_default_variant_is_named_once_in_the_registry():
    assert registry.DEFAULT_VARIANT in registry.available()
    assert RunConfig().variant == make_config().variant == registry.DEFAULT_VARIANT
    root = PACKAGE_DIR.parent
    app_files = [root / "Home.py", *sorted(root.glob("ui/*.py")), *sorted(root.glob("pages/*.py"))]
    # The lessons name the variant of each classic experiment: data, not a default.
    named = files_naming(registry.DEFAULT_VARIANT, modules_outside_variants() + app_files)
    assert named == ["lesson_catalogue.py"]
    assert files_naming(registry.DEFAULT_VARIANT, [PACKAGE_DIR / "registry.py"]) == ["registry.py"]


# --- defaults and options -------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXPECTED)
def test_defaults_make_a_valid_config(name):
    variant = registry.get(name)
    config = make_config(name)
    assert config.variant == name
    for setting, value in {**variant.defaults, **variant.fixed}.items():
        expected = tuple(value) if setting == "hidden" else value
        assert getattr(config, setting) == expected, setting


@pytest.mark.parametrize("name", EXPECTED)
def test_declared_settings_are_real_fields(name):
    variant = registry.get(name)
    known = set(field_names())
    assert set(variant.defaults) <= known
    assert set(variant.fixed) <= known
    assert variant.uses <= known, sorted(variant.uses - known)
    assert set(variant.unused) <= known
    assert not set(variant.fixed) & set(variant.unused)


@pytest.mark.parametrize("name", EXPECTED)
def test_each_variant_lists_the_settings_it_uses_and_pins_only_those(name):
    variant = registry.get(name)
    assert "uses" in vars(type(variant)), f"the {name} variant does not say which settings it uses"
    assert set(variant.fixed) <= variant.uses
    assert not variant.uses & EVERY_VARIANT


def test_the_shared_groups_name_real_settings():
    known = set(field_names())
    for group in (EVERY_VARIANT, TRAINING, LAYERS, NOISE, SPARSITY, AUTOENCODER):
        assert group <= known, sorted(group - known)


def test_every_setting_is_used_by_a_variant_or_is_in_every_variant():
    # A new setting is placed on purpose: in a group of ae_core/variants/base.py, or in a
    # variant's own list; never in a form by default.
    used = set().union(*(registry.get(name).uses for name in EXPECTED))
    unplaced = set(field_names()) - used - EVERY_VARIANT
    assert not unplaced, f"no variant uses {sorted(unplaced)}"


# The options of each variant when they were every setting but the fixed and the unused ones,
# written down then: the form, --set and the run ids read them, so listing the settings each
# variant uses must keep them as they were.
DETERMINISTIC_OPTIONS = [
    "dataset",
    "hidden",
    "code_size",
    "activation",
    "code_activation",
    "output_activation",
    "loss",
    "optimizer",
    "learning_rate",
    "batch_size",
    "steps",
    "init",
    "bias_init",
    "l2",
    "tied",
    "noise",
    "noise_level",
    "sparsity_target",
    "sparsity_weight",
    "sparsity_layers",
    "l1",
    "seed",
]
OPTIONS_BEFORE_USES = {
    "denoising": DETERMINISTIC_OPTIONS,
    "layerwise": DETERMINISTIC_OPTIONS,
    "linear": [
        "dataset",
        "hidden",
        "code_size",
        "optimizer",
        "learning_rate",
        "batch_size",
        "steps",
        "init",
        "bias_init",
        "l2",
        "tied",
        "noise",
        "noise_level",
        "sparsity_target",
        "sparsity_weight",
        "sparsity_layers",
        "l1",
        "seed",
    ],
    "sparse_kl": DETERMINISTIC_OPTIONS,
    "sparse_l1": DETERMINISTIC_OPTIONS,
    "stacked": DETERMINISTIC_OPTIONS,
    "tied": [name for name in DETERMINISTIC_OPTIONS if name != "tied"],
    "vae": [
        "dataset",
        "hidden",
        "code_size",
        "activation",
        "optimizer",
        "learning_rate",
        "batch_size",
        "steps",
        "init",
        "bias_init",
        "l2",
        "kl_weight",
        "seed",
    ],
}


@pytest.mark.parametrize("name", EXPECTED)
def test_each_variant_offers_the_options_it_had_before_it_listed_its_settings(name):
    assert sorted(OPTIONS_BEFORE_USES) == EXPECTED
    assert registry.get(name).options() == OPTIONS_BEFORE_USES[name]


@pytest.mark.parametrize("name", EXPECTED)
def test_options_leave_out_fixed_unused_and_variant(name):
    variant = registry.get(name)
    options = variant.options()
    left_out = set(variant.fixed) | set(variant.unused) | EVERY_VARIANT
    assert not left_out & set(options)
    assert options == [field for field in field_names() if field not in left_out]


def test_options_of_particular_variants():
    linear, vae = registry.get("linear").options(), registry.get("vae").options()
    for setting in ("activation", "output_activation", "loss", "code_activation", "kl_weight"):
        assert setting not in linear
    assert "code_size" in linear and "learning_rate" in linear
    for setting in ("tied", "noise", "noise_level", "sparsity_weight", "l1", "loss"):
        assert setting not in vae
    assert "kl_weight" in vae and "code_size" in vae
    assert "tied" not in registry.get("tied").options()
    assert "kl_weight" not in registry.get("stacked").options()


def test_only_the_vae_needs_no_bottleneck():
    assert [name for name in EXPECTED if not registry.get(name).needs_bottleneck] == ["vae"]


# --- where variant logic lives --------------------------------------------------------------------


@pytest.mark.parametrize("name", EXPECTED)
def test_each_variant_lives_in_its_own_module_under_variants(name):
    cls = type(registry.get(name))
    assert cls.__module__ == f"ae_core.variants.{name}"
    assert Path(inspect.getfile(cls)).resolve() == VARIANTS_DIR / f"{name}.py"


def test_variants_folder_holds_only_variants_and_the_base():
    modules = {path.stem for path in VARIANTS_DIR.glob("*.py")}
    assert modules == {"__init__", "base", *EXPECTED}


def test_the_helper_finds_a_variant_branch():
    # Guards the check below: it must notice the patterns it is meant to forbid.
    source = (
        "if config.variant == 'vae':\n    pass\n"
        "x = 1 if 'tied' == variant_name else 2\n"
        "y = config.variant in ('linear', 'stacked')\n"
    )
    assert variant_name_comparisons(source) == [1, 3, 4]
    assert variant_name_comparisons("z = name == 'linear'\n") == []  # an activation, not a variant


@pytest.mark.parametrize(
    "path", modules_outside_variants(), ids=lambda path: str(path.relative_to(PACKAGE_DIR))
)
def test_no_variant_branches_outside_the_variants(path):
    source = path.read_text(encoding="utf-8")
    assert not re.findall(r"variant\s*[!=]=", source), f"{path} branches on a variant"
    assert variant_name_comparisons(source) == [], f"{path} compares against a variant name"


def test_the_scan_covers_the_engine():
    scanned = {path.name for path in modules_outside_variants()}
    assert {"config.py", "model.py", "trainer.py", "analysis.py", "cli.py"} <= scanned
    assert "registry.py" not in scanned and "base.py" not in scanned
