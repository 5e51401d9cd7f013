"""Runs named by what differs (ae_core.naming), as the Compare page and the Home page name them."""

from ae_core.config import make_config
from ae_core.naming import changed_settings, run_names, setting_name, setting_text


def test_a_setting_is_named_by_its_label():
    assert setting_name("sparsity_weight") == "beta"  # "Beta (sparsity weight)"
    assert setting_name("kl_weight") == "beta"
    assert setting_name("sparsity_target") == "sparsity target"
    assert setting_name("l2") == "L2 weight decay"
    assert setting_text("learning_rate", 0.1 + 0.2) == "learning rate 0.3"
    assert setting_text("hidden", (300, 100)) == "hidden layers 300,100"
    assert setting_text("hidden", ()) == "hidden layers none"
    assert setting_text("tied", True) == "tied weights on"


def test_runs_are_named_by_the_settings_that_differ_between_them():
    base = make_config("sparse_kl", dataset="digits", code_size=16, sparsity_target=0.05)
    configs = {
        "sparse_kl-aaaaaa1": base.replace(sparsity_weight=0.1),
        "sparse_kl-bbbbbb2": base.replace(sparsity_weight=1.0),
        "sparse_kl-cccccc3": base.replace(sparsity_weight=0.1, sparsity_target=0.02),
    }
    assert run_names(configs) == {
        "sparse_kl-aaaaaa1": "beta 0.1, sparsity target 0.05",
        "sparse_kl-bbbbbb2": "beta 1, sparsity target 0.05",
        "sparse_kl-cccccc3": "beta 0.1, sparsity target 0.02",
    }
    two = {run_id: configs[run_id] for run_id in ("sparse_kl-aaaaaa1", "sparse_kl-bbbbbb2")}
    assert list(run_names(two).values()) == ["beta 0.1", "beta 1"]


def test_runs_of_several_variants_are_named_by_variant_and_their_own_changes():
    configs = {
        "stacked-1": make_config("stacked"),
        "sparse_kl-2": make_config("sparse_kl", sparsity_target=0.05),
        "vae-3": make_config("vae", kl_weight=0.5),
    }
    assert run_names(configs) == {
        "stacked-1": "stacked",
        "sparse_kl-2": "sparse_kl, sparsity target 0.05",
        "vae-3": "vae, beta 0.5",
    }


def test_a_lone_run_and_runs_with_the_same_settings():
    config = make_config("tied", code_size=8, steps=500)
    assert run_names({"tied-1": config}) == {"tied-1": "tied, code size 8, steps 500"}
    # The same settings on other data: the start of each id's hash tells them apart.
    assert run_names({"tied-0123456789ab": config, "tied-fedcba987654": config}) == {
        "tied-0123456789ab": "tied, code size 8, steps 500 (012345)",
        "tied-fedcba987654": "tied, code size 8, steps 500 (fedcba)",
    }


def test_changed_settings_are_those_off_the_variants_defaults_in_the_forms_order():
    assert changed_settings(make_config("denoising")) == []
    config = make_config("stacked", dataset="digits", steps=100, code_size=4, tied=True)
    assert changed_settings(config) == [
        "code size 4",
        "dataset digits",
        "steps 100",
        "tied weights on",
    ]
