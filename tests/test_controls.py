"""Controls: every changeable setting of each variant, described from the config's metadata."""

from __future__ import annotations

import pytest

from ae_core import registry
from ae_core.config import make_config
from ae_core.controls import controls


@pytest.mark.parametrize("variant", registry.available())
def test_each_variant_offers_exactly_its_options_starting_at_its_defaults(variant):
    described = controls(variant)
    assert [c.name for c in described] == registry.get(variant).options()
    # The defaults, handed back as settings, rebuild the variant's default config exactly.
    settings = {c.name: c.default for c in described}
    assert make_config(variant, **settings) == make_config(variant)
    assert all(c.label and c.help for c in described)


def test_fixed_and_unused_settings_are_not_offered():
    names = {c.name for c in controls("vae")}
    assert {"loss", "output_activation", "noise", "sparsity_weight", "tied"}.isdisjoint(names)
    assert "kl_weight" in names and "code_size" in names
    assert "tied" not in {c.name for c in controls("tied")}


def test_kinds_choices_and_ranges_come_from_the_field_metadata():
    by_name = {c.name: c for c in controls("sparse_kl")}
    assert by_name["optimizer"].kind == "choice"
    assert by_name["optimizer"].choices == ("sgd", "rmsprop", "rmsprop_tf1", "adam")
    assert by_name["dataset"].choices == (
        "mnist",
        "mnist-sample",
        "fashion-mnist",
        "digits",
        "toy3d",
    )
    assert by_name["tied"].kind == "toggle" and by_name["hidden"].kind == "layers"
    assert by_name["code_size"].kind == "int" and by_name["code_size"].default == 256
    rate = by_name["learning_rate"]
    assert (rate.kind, rate.log, rate.minimum, rate.maximum) == ("float", True, 1e-6, 10.0)
    target = by_name["sparsity_target"]
    assert (target.minimum, target.maximum, target.exclusive) == (0.0, 1.0, True)
    assert by_name["sparsity_weight"].default == 0.1
    assert by_name["sparsity_layers"].kind == "text"


@pytest.mark.parametrize("variant", registry.available())
def test_every_control_belongs_to_a_group_the_app_lays_out(variant):
    groups = {c.group for c in controls(variant)}
    assert groups <= {"data", "model", "training", "regularisation"}
    assert {"data", "model", "training"} <= groups


def test_linear_scale_floats_have_a_slider_step_and_log_scale_ones_do_not():
    by_name = {c.name: c for c in controls("denoising")}
    assert by_name["noise_level"].step == 0.05 and by_name["sparsity_target"].step == 0.01
    assert by_name["learning_rate"].step is None and by_name["l2"].step is None
    assert by_name["dataset"].group == "data" and by_name["l1"].group == "regularisation"
