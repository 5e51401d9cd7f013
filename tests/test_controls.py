"""Controls: every changeable setting of each variant, described from the config's metadata."""

from __future__ import annotations

import pytest

from ae_core import registry
from ae_core.config import make_config
from ae_core.controls import controls, labels, settle


@pytest.mark.parametrize("variant", registry.available())
def test_each_variant_offers_exactly_its_options_starting_at_its_defaults(variant):
    described = controls(variant)
    assert sorted(c.name for c in described) == sorted(registry.get(variant).options())
    # The design's settings first, then the others in the config's order.
    others = [c.name for c in described if not c.design]
    assert others == [name for name in registry.get(variant).options() if name in others]
    ranks = [c.design for c in described]
    assert ranks == sorted(ranks, key=lambda rank: (rank == 0, rank))
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


def test_the_design_sliders_come_first_and_beta_is_named_beta():
    assert [c.name for c in controls("sparse_kl")][:5] == [
        "code_size",
        "sparsity_weight",
        "sparsity_target",
        "noise",
        "noise_level",
    ]
    vae = controls("vae")
    assert [c.name for c in vae][:2] == ["code_size", "kl_weight"]
    assert vae[1].label.startswith("Beta") and "KL term" in vae[1].help
    code = vae[0]
    assert code.slider_values == (2, 4, 8, 16, 32, 64, 128, 256, 512)


def test_a_setting_that_cannot_change_the_result_says_why():
    by_name = {c.name: c for c in controls("stacked")}
    names = labels("stacked")
    values = {"sparsity_weight": 0.0, "noise": "none"}
    assert by_name["sparsity_target"].inactive_reason(values, names) == (
        "No effect while Beta (sparsity weight) is 0."
    )
    assert "Input noise is none" in by_name["noise_level"].inactive_reason(values, names)
    assert by_name["code_size"].inactive_reason(values, names) is None
    switched_on = {"sparsity_weight": 0.5, "noise": "gaussian"}
    assert by_name["sparsity_target"].inactive_reason(switched_on, names) is None
    assert by_name["noise_level"].inactive_reason(switched_on, names) is None


def test_settle_keeps_the_noise_level_valid_when_the_noise_type_changes():
    level = {c.name: c for c in controls("stacked")}["noise_level"]
    assert level.range_for({"noise": "dropout"}) == (0.0, 0.95)
    assert level.range_for({"noise": "gaussian"}) == (0.0, 5.0)
    # Switched on from none: the level gets a start, and the config is valid at once.
    on = settle("stacked", {"noise": "gaussian", "noise_level": 0.0})
    assert on == {"noise": "gaussian", "noise_level": 0.3}
    make_config("stacked", **on)
    # A gaussian level of 2 is no dropout probability: brought inside dropout's range.
    dropout = settle("stacked", {"noise": "dropout", "noise_level": 2.0})
    assert dropout["noise_level"] == 0.95
    make_config("stacked", **dropout)
    off = settle("stacked", {"noise": "none", "noise_level": 0.4})
    assert off["noise_level"] == 0.0
    make_config("stacked", **off)
    # A valid level is left alone.
    assert settle("stacked", {"noise": "gaussian", "noise_level": 1.5})["noise_level"] == 1.5


def test_messages_in_the_app_name_settings_by_their_labels():
    from ae_core.controls import in_labels

    assert in_labels("code_size=4096 is larger than the input", "stacked") == (
        "Code size 4096 is larger than the input"
    )
    message = "set code_activation='sigmoid' or sparsity_weight=0"
    assert in_labels(message, "sparse_kl") == (
        "set Code activation 'sigmoid' or Beta (sparsity weight) 0"
    )
