"""Tests for ae_core.config: making configs, the run id, conversions, --set parsing, checks."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys

import pytest

from ae_core import registry
from ae_core.config import (
    MAX_SEED,
    RunConfig,
    field_names,
    field_spec,
    make_config,
    parse_setting,
    short_run_id,
)
from ae_core.errors import ConfigError

RUN_ID = re.compile(r"^(?P<variant>[a-z0-9_]+)-(?P<digest>[0-9a-f]{12})$")


def config_error(variant: str = "stacked", **settings) -> ConfigError:
    """The ConfigError that ``make_config(variant, **settings)`` raises (fails if none)."""
    with pytest.raises(ConfigError) as caught:
        make_config(variant, **settings)
    return caught.value


# --- make_config and RunConfig --------------------------------------------------------------------


def test_make_config_layers_variant_defaults_then_settings():
    config = make_config("sparse_l1", code_size=16, l1=0.05)
    variant = registry.get("sparse_l1")
    assert config.variant == "sparse_l1"
    assert (config.code_size, config.l1) == (16, 0.05)  # the caller's settings win
    assert config.activation == variant.defaults["activation"] == "relu"
    assert config.init == "he_uniform"
    assert config.learning_rate == RunConfig.__dataclass_fields__["learning_rate"].default


def test_make_config_applies_fixed_settings():
    config = make_config("linear")
    assert (config.activation, config.output_activation, config.loss) == ("linear", "linear", "mse")
    assert make_config("tied").tied is True


def test_derived_layer_facts():
    config = make_config(
        "stacked",
        dataset="digits",
        hidden="32,16",
        code_size=4,
        activation="sigmoid",
        code_activation="linear",
        sparsity_layers="1,2",
    )
    assert config.layer_sizes == (32, 16, 4)
    assert config.encoder_activations == ("sigmoid", "sigmoid", "linear")
    assert config.resolved_code_activation == "linear"
    assert config.penalised_layers == (0, 1)
    assert make_config("stacked", hidden=(32, 16)).penalised_layers == (2,)  # 'code'
    assert make_config("stacked", hidden=(32, 16), sparsity_layers="all").penalised_layers == (
        0,
        1,
        2,
    )


def test_config_is_frozen():
    config = make_config("stacked")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.steps = 5  # type: ignore[misc]


def test_numbers_are_stored_as_the_field_type():
    config = make_config("stacked", learning_rate=1, steps=300.0, l2=0)
    assert type(config.learning_rate) is float and config.learning_rate == 1.0
    assert type(config.steps) is int and config.steps == 300
    assert type(config.l2) is float


# --- the run id -----------------------------------------------------------------------------------


def test_run_id_shape_and_prefix():
    for name in registry.available():
        match = RUN_ID.match(make_config(name).run_id)
        assert match is not None and match["variant"] == name


def test_the_short_run_id_is_the_start_of_the_hash_built_in_one_place(repo_root):
    for name in registry.available():
        run_id = make_config(name).run_id
        assert short_run_id(run_id) == RUN_ID.match(run_id)["digest"][:6]
    assert short_run_id("sparse_kl-0123456789ab") == "012345"
    sources = [repo_root / "Home.py"]
    for folder in ("ae_core", "ui", "pages"):
        sources += sorted((repo_root / folder).rglob("*.py"))
    built_here = [
        path.name
        for path in sources
        if 'rsplit("-"' in path.read_text() or "rsplit('-'" in path.read_text()
    ]
    assert built_here == ["config.py"]


def test_run_id_is_stable_for_equal_configs():
    assert make_config("stacked").run_id == make_config("stacked").run_id
    assert make_config("vae", seed=3).run_id == make_config("vae", seed=3).run_id


@pytest.mark.parametrize("hidden", [[300, 100], (300, 100), "300,100", " 300, 100 "])
def test_run_id_ignores_how_hidden_is_written(hidden):
    reference = make_config("stacked", hidden=(300, 100))
    config = make_config("stacked", hidden=hidden)
    assert config.hidden == (300, 100)
    assert config == reference and config.run_id == reference.run_id


def test_run_id_ignores_int_versus_float():
    assert (
        make_config("stacked", learning_rate=1).run_id
        == make_config("stacked", learning_rate=1.0).run_id
    )
    assert make_config("stacked", steps=50).run_id == make_config("stacked", steps=50.0).run_id


@pytest.mark.parametrize(
    "change",
    [
        {"seed": 1},
        {"steps": 1999},
        {"hidden": (128,)},
        {"hidden": (256, 64)},
        {"learning_rate": 0.002},
        {"dataset": "mnist-sample"},
        {"tied": True},
        {"activation": "elu"},
        {"l2": 1e-4},
    ],
    ids=lambda change: ",".join(change),
)
def test_run_id_changes_with_any_field(change):
    base = make_config("stacked")
    changed = make_config("stacked", **change)
    assert changed != base
    assert changed.run_id != base.run_id
    assert changed.run_id.startswith("stacked-")


def test_run_id_differs_between_variants_with_equal_settings():
    # stacked and denoising share everything here except the variant name.
    settings = {"hidden": (64,), "noise": "gaussian", "noise_level": 0.2, "init": "he_uniform"}
    stacked, denoising = make_config("stacked", **settings), make_config("denoising", **settings)
    assert {**stacked.to_dict(), "variant": None} == {**denoising.to_dict(), "variant": None}
    assert stacked.run_id.split("-")[1] != denoising.run_id.split("-")[1]


def test_run_id_is_the_same_in_another_process(repo_root):
    config = make_config("sparse_kl", code_size=64, sparsity_weight=0.2)
    code = (
        "from ae_core.config import make_config; "
        "print(make_config('sparse_kl', code_size=64, sparsity_weight=0.2).run_id)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == config.run_id


# --- conversions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["stacked", "linear", "vae", "sparse_kl"])
def test_to_dict_from_dict_round_trip(variant):
    config = make_config(variant, seed=7)
    values = config.to_dict()
    # A run that continues nothing has the config it had before runs could continue others.
    assert list(values) == [n for n in field_names() if n not in ("parent", "extra_steps")]
    assert isinstance(values["hidden"], list)
    again = RunConfig.from_dict(json.loads(json.dumps(values)))
    assert again == config and again.run_id == config.run_id
    continuation = config.replace(parent=config.run_id, extra_steps=1)
    assert list(continuation.to_dict()) == field_names()
    assert RunConfig.from_dict(continuation.to_dict()) == continuation


def test_replace_revalidates():
    config = make_config("stacked", dataset="digits", hidden=(32,), code_size=8)
    assert config.replace(steps=10).steps == 10
    assert config.replace(steps=10).run_id != config.run_id
    with pytest.raises(ConfigError) as caught:
        config.replace(code_size=65)
    assert caught.value.field == "code_size"


def test_from_dict_rejects_an_unknown_key():
    values = {**make_config("stacked").to_dict(), "batchsize": 32}
    with pytest.raises(ConfigError) as caught:
        RunConfig.from_dict(values)
    error = caught.value
    assert error.field == "batchsize"
    assert "'batchsize'" in str(error) and "batch_size" in str(error)


# --- field metadata -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", field_names())
def test_every_field_has_label_and_help(name):
    metadata = field_spec(name).metadata
    assert isinstance(metadata.get("label"), str) and metadata["label"].strip()
    assert isinstance(metadata.get("help"), str) and len(metadata["help"]) > 10


def test_labels_are_distinct():
    labels = [field_spec(name).metadata["label"] for name in field_names()]
    assert len(set(labels)) == len(labels)


def test_field_spec_of_unknown_name():
    with pytest.raises(ConfigError) as caught:
        field_spec("epochs")
    assert caught.value.field == "epochs" and "steps" in str(caught.value)


# --- parse_setting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("tied", "true", True),
        ("tied", "YES", True),
        ("tied", "on", True),
        ("tied", "1", True),
        ("tied", "false", False),
        ("tied", "No", False),
        ("tied", "off", False),
        ("tied", "0", False),
        ("steps", " 300 ", 300),
        ("code_size", "8", 8),
        ("learning_rate", "1e-3", 0.001),
        ("learning_rate", "2", 2.0),
        ("noise_level", "0.25", 0.25),
        ("hidden", "300,100", (300, 100)),
        ("hidden", " 300, 100 ", (300, 100)),
        ("hidden", "64", (64,)),
        ("hidden", "", ()),
        ("activation", " elu ", "elu"),
        ("sparsity_layers", "1,2", "1,2"),
    ],
)
def test_parse_setting(name, text, expected):
    value = parse_setting(name, text)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("name", "text", "expected_kind"),
    [
        ("tied", "maybe", "true or false"),
        ("steps", "1.5", "a whole number"),
        ("steps", "abc", "a whole number"),
        ("batch_size", "", "a whole number"),
        ("learning_rate", "fast", "a number"),
        ("hidden", "300;100", "comma-separated whole numbers"),
        ("hidden", "a,b", "comma-separated whole numbers"),
    ],
)
def test_parse_setting_errors(name, text, expected_kind):
    with pytest.raises(ConfigError) as caught:
        parse_setting(name, text)
    assert caught.value.field == name
    message = str(caught.value)
    assert f"{name}=" in message and repr(text.strip()) in message
    assert expected_kind in message


def test_parse_setting_unknown_name_lists_the_known_ones():
    with pytest.raises(ConfigError) as caught:
        parse_setting("code", "8")
    assert caught.value.field == "code"
    assert "code_size" in str(caught.value) and "learning_rate" in str(caught.value)


# --- validation -----------------------------------------------------------------------------------

ALL_VARIANTS = [
    "denoising",
    "layerwise",
    "linear",
    "sparse_kl",
    "sparse_l1",
    "stacked",
    "tied",
    "vae",
]

# (variant, settings, field the error names, fragments the message must contain): each message
# names the setting and the rejected value and says what would be allowed.
BAD_CONFIGS = [
    pytest.param(
        "stacked",
        {"sparsity_target": 0},
        "sparsity_target",
        ["sparsity_target=0.0", "(0.0, 1.0)"],
        id="sparsity_target-0",
    ),
    pytest.param(
        "stacked",
        {"sparsity_target": 1},
        "sparsity_target",
        ["sparsity_target=1.0", "(0.0, 1.0)"],
        id="sparsity_target-1",
    ),
    pytest.param(
        "sparse_kl",
        {"code_activation": "relu"},
        "code_activation",
        ["code_activation", "'relu'", "sigmoid"],
        id="sparse_kl-relu-code",
    ),
    pytest.param(
        "stacked",
        {
            "hidden": (32,),
            "activation": "relu",
            "code_activation": "sigmoid",
            "sparsity_weight": 0.1,
            "sparsity_layers": "all",
        },
        "activation",
        ["activation='sigmoid'", "'relu'", "layer 1"],
        id="kl-on-relu-hidden-layer",
    ),
    pytest.param(
        "stacked",
        {"noise_level": -0.1},
        "noise_level",
        ["noise_level=-0.1", "[0.0, 5.0]"],
        id="negative-noise_level",
    ),
    pytest.param(
        "stacked",
        {"dataset": "digits", "code_size": 100},
        "code_size",
        ["code_size=100", "64", "at most 64", "sparsity", "L1", "noise"],
        id="code-larger-than-input",
    ),
    pytest.param(
        "autoencoder",
        {},
        "variant",
        ["variant", "'autoencoder'", *ALL_VARIANTS],
        id="unknown-variant",
    ),
    pytest.param(
        "stacked",
        {"dataset": "cifar10"},
        "dataset",
        ["dataset", "'cifar10'", "digits", "fashion-mnist", "mnist-sample", "toy3d"],
        id="unknown-dataset",
    ),
    pytest.param(
        "stacked",
        {"optimizer": "adagrad"},
        "optimizer",
        ["optimizer='adagrad'", "sgd", "rmsprop", "adam"],
        id="optimizer-adagrad",
    ),
    pytest.param(
        "stacked",
        {"loss": "bce", "output_activation": "linear"},
        "loss",
        ["loss='bce'", "'linear'", "output_activation='sigmoid'", "loss='mse'"],
        id="bce-with-linear-output",
    ),
    pytest.param(
        "stacked",
        {"dataset": "toy3d", "loss": "bce"},
        "loss",
        ["loss='bce'", "toy3d", "[0, 1]", "loss='mse'"],
        id="bce-on-toy3d",
    ),
    pytest.param(
        "stacked",
        {"noise": "dropout", "noise_level": 1.0},
        "noise_level",
        ["noise_level=1.0", "dropout", "(0, 1)"],
        id="dropout-level-1",
    ),
    pytest.param(
        "stacked",
        {"noise": "dropout", "noise_level": 2.5},
        "noise_level",
        ["noise_level=2.5", "dropout", "(0, 1)"],
        id="dropout-level-2.5",
    ),
    pytest.param(
        "linear",
        {"activation": "relu"},
        "activation",
        ["activation='relu'", "linear variant", "activation='linear'"],
        id="linear-with-relu",
    ),
    pytest.param(
        "tied",
        {"tied": False},
        "tied",
        ["tied=False", "tied variant", "tied=True"],
        id="tied-untied",
    ),
    pytest.param(
        "vae",
        {"l1": 0.1},
        "l1",
        ["l1=0.1", "vae variant", "does not apply", "0.0"],
        id="vae-with-l1",
    ),
    pytest.param(
        "stacked",
        {"kl_weight": 2.0},
        "kl_weight",
        ["kl_weight=2.0", "stacked variant", "does not apply", "1.0"],
        id="stacked-with-kl_weight",
    ),
    pytest.param(
        "layerwise",
        {"hidden": ()},
        "hidden",
        ["hidden", "layerwise", "at least one hidden layer"],
        id="layerwise-without-hidden",
    ),
    pytest.param(
        "layerwise",
        {"hidden": (32,), "steps": 1},
        "steps",
        ["steps=1", "at least 2"],
        id="layerwise-too-few-steps",
    ),
    pytest.param(
        "denoising",
        {"noise": "none", "noise_level": 0},
        "noise",
        ["noise", "'none'", "'gaussian'", "'gaussian_clipped'", "'dropout'"],
        id="denoising-without-noise",
    ),
    pytest.param(
        "sparse_kl",
        {"sparsity_weight": 0},
        "sparsity_weight",
        ["sparsity_weight", "0.0", "> 0"],
        id="sparse_kl-without-weight",
    ),
    pytest.param(
        "sparse_l1",
        {"l1": 0},
        "l1",
        ["l1", "0.0", "> 0"],
        id="sparse_l1-without-l1",
    ),
    pytest.param(
        "stacked",
        {"hidden": [100, 0]},
        "hidden",
        ["hidden=[100, 0]", "[1, 4096]"],
        id="hidden-with-0",
    ),
    pytest.param(
        "stacked",
        {"hidden": (8, 8, 8, 8, 8, 8)},
        "hidden",
        ["hidden=[8, 8, 8, 8, 8, 8]", "at most 5"],
        id="hidden-too-deep",
    ),
    pytest.param(
        "stacked",
        {"hidden": [1.5]},
        "hidden",
        ["hidden=[1.5]", "whole numbers"],
        id="hidden-not-whole",
    ),
    pytest.param(
        "stacked",
        {"learning_rate": 0},
        "learning_rate",
        ["learning_rate=0.0", "[1e-06, 10.0]"],
        id="learning_rate-0",
    ),
    pytest.param(
        "stacked",
        {"learning_rate": float("nan")},
        "learning_rate",
        ["learning_rate=nan", "finite number"],
        id="learning_rate-nan",
    ),
    pytest.param(
        "stacked",
        {"hidden": (32,), "sparsity_layers": "5"},
        "sparsity_layers",
        ["sparsity_layers='5'", "'code'", "'all'", "from 1 to 2"],
        id="sparsity_layers-out-of-depth",
    ),
    pytest.param(
        "stacked",
        {"noise_level": 0.3},
        "noise_level",
        ["noise_level=0.3", "noise='none'", "'gaussian'", "'dropout'"],
        id="noise_level-without-noise",
    ),
    pytest.param(
        "stacked",
        {"noise": "gaussian", "noise_level": 0},
        "noise_level",
        ["noise='gaussian'", "noise_level > 0", "0.0"],
        id="noise-without-level",
    ),
    pytest.param(
        "stacked",
        {"batchsize": 32},
        "batchsize",
        ["'batchsize'", "batch_size", "learning_rate"],
        id="unknown-key",
    ),
    pytest.param(
        "stacked",
        {"steps": "abc"},
        "steps",
        ["steps='abc'", "whole number"],
        id="steps-not-a-number",
    ),
    pytest.param(
        "stacked",
        {"steps": 0},
        "steps",
        ["steps=0", "[1, 1000000]"],
        id="steps-0",
    ),
    pytest.param(
        "stacked",
        {"tied": "yes"},
        "tied",
        ["tied='yes'", "true or false"],
        id="tied-not-bool",
    ),
    pytest.param(
        "stacked",
        {"seed": -1},
        "seed",
        ["seed=-1", "[0, 2147483647]"],
        id="negative-seed",
    ),
]


@pytest.mark.parametrize(("variant", "settings", "field", "fragments"), BAD_CONFIGS)
def test_bad_config_names_field_value_and_rule(variant, settings, field, fragments):
    error = config_error(variant, **settings)
    assert isinstance(error, ValueError)  # callers that only know ValueError still catch it
    assert error.field == field
    message = str(error)
    assert "\n" not in message
    missing = [fragment for fragment in fragments if fragment not in message]
    assert not missing, f"{message!r} lacks {missing}"


@pytest.mark.parametrize(
    "extra",
    [
        {"l1": 0.1},
        {"noise": "gaussian", "noise_level": 0.2},
        {"noise": "dropout", "noise_level": 0.3},
        {"activation": "sigmoid", "sparsity_weight": 0.1},
    ],
    ids=["l1", "gaussian", "dropout", "kl-sparsity"],
)
def test_overcomplete_code_is_allowed_when_regularised(extra):
    config = make_config("stacked", dataset="digits", code_size=100, **extra)
    assert config.code_size == 100


def test_code_as_large_as_the_input_is_allowed():
    assert make_config("stacked", dataset="digits", code_size=64).code_size == 64


def test_vae_latent_may_exceed_the_input():
    # The latent loss, not a bottleneck, keeps the VAE from copying its input.
    assert make_config("vae", dataset="digits", code_size=100).code_size == 100


def test_direct_construction_is_validated_too():
    with pytest.raises(ConfigError) as caught:
        RunConfig(variant="linear")  # RunConfig's own defaults are not the linear variant's
    assert caught.value.field == "activation"


# Configs with more than one problem, and the one reported (its field and message): each field
# alone first, in the config's order, then the variant, the dataset, and the rules of
# ae_core.config.VALIDATION_RULES in their order.
FIRST_PROBLEMS = [
    pytest.param(
        "stacked",
        {"variant": "nope", "code_size": 0},
        "code_size",
        "code_size=0 is out of range: allowed values are in [1, 4096]",
        id="a-range-before-the-variant",
    ),
    pytest.param(
        "stacked",
        {"variant": "nope", "dataset": "nope"},
        "variant",
        "unknown variant 'nope'; available variants: ",
        id="the-variant-before-the-dataset",
    ),
    pytest.param(
        "vae",
        {"kl_weight": 0.0, "tied": True},
        "kl_weight",
        "kl_weight=0.0 is out of range: allowed values are in (0.0, 100.0]",
        id="a-range-before-an-unused-setting",
    ),
    pytest.param(
        "stacked",
        {"hidden": (0,), "code_size": 0},
        "hidden",
        "hidden=[0] is out of range: allowed values are in [1, 4096]",
        id="fields-in-the-config-order",
    ),
    pytest.param(
        "stacked",
        {"dataset": "nope", "noise_level": 0.3},
        "dataset",
        "unknown dataset 'nope'; available: ",
        id="the-dataset-before-the-rules",
    ),
    pytest.param(
        "linear",
        {"activation": "relu", "kl_weight": 2.0},
        "activation",
        "activation='relu' is not allowed for the linear variant, which needs activation='linear'",
        id="fixed-before-unused",
    ),
    pytest.param(
        "vae",
        {"noise": "gaussian", "l1": 0.1},
        "l1",
        "l1=0.1 does not apply to the vae variant; leave it at 0.0",
        id="unused-settings-by-name",
    ),
    pytest.param(
        "denoising",
        {"noise": "none", "output_activation": "linear"},
        "noise",
        "the denoising variant needs noise='gaussian', 'gaussian_clipped' or 'dropout', not 'none'",
        id="the-variant-check-before-the-loss",
    ),
    pytest.param(
        "layerwise",
        {"hidden": (), "steps": 1, "noise_level": 0.3},
        "hidden",
        "hidden=[] is empty, but the layerwise variant needs at least one hidden layer (e.g. "
        "hidden=300), since it trains one layer pair per phase",
        id="the-variant-checks-in-its-order",
    ),
    pytest.param(
        "stacked",
        {"output_activation": "linear", "dataset": "toy3d"},
        "loss",
        "loss='bce' needs output_activation='sigmoid' (outputs in (0, 1)), not 'linear'; use "
        "loss='mse' for other outputs",
        id="the-output-before-the-data",
    ),
    pytest.param(
        "stacked",
        {"dataset": "toy3d", "noise_level": 0.3},
        "loss",
        "loss='bce' needs data in [0, 1], and toy3d is not; use loss='mse'",
        id="the-loss-before-the-noise",
    ),
    pytest.param(
        "stacked",
        {"noise_level": 0.3, "sparsity_layers": "9"},
        "noise_level",
        "noise_level=0.3 has no effect with noise='none'; set noise to 'gaussian', "
        "'gaussian_clipped' or 'dropout', or noise_level to 0",
        id="the-noise-before-the-sparsity-layers",
    ),
    pytest.param(
        "stacked",
        {"sparsity_layers": "9", "dataset": "digits", "code_size": 100},
        "sparsity_layers",
        "sparsity_layers='9' is not valid: use 'code', 'all', or encoder layer numbers from 1 "
        "to 2 separated by commas",
        id="the-sparsity-layers-before-the-code-size",
    ),
    pytest.param(
        "stacked",
        {
            "hidden": (64,),
            "sparsity_weight": 0.1,
            "sparsity_layers": "1",
            "dataset": "digits",
            "code_size": 100,
        },
        "activation",
        "the KL sparsity penalty needs values in (0, 1), so encoder layer 1 must be sigmoid, not "
        "'relu'; set activation='sigmoid' or sparsity_weight=0",
        id="sigmoid-layers-before-the-code-size",
    ),
]


@pytest.mark.parametrize(("variant", "changes", "field", "message"), FIRST_PROBLEMS)
def test_the_first_problem_is_the_one_reported(variant, changes, field, message):
    with pytest.raises(ConfigError) as caught:
        make_config(variant).replace(**changes)
    assert caught.value.field == field
    # The lists of known variants and datasets may grow; every other message is whole.
    assert str(caught.value).startswith(message)
    assert message.endswith(": ") or str(caught.value) == message


def test_a_seed_is_bounded_so_the_layer_seeds_derived_from_it_fit_in_64_bits():
    assert make_config("stacked", seed=MAX_SEED).seed == 2**31 - 1
    with pytest.raises(ConfigError, match=r"seed=2147483648 is out of range") as refused:
        make_config("stacked", seed=MAX_SEED + 1)
    assert refused.value.field == "seed"


def test_the_variant_is_chosen_once():
    assert make_config("vae", variant="vae").variant == "vae"  # repeated, the same: fine
    with pytest.raises(ConfigError, match="conflicts with the variant chosen, 'sparse_kl'") as e:
        make_config("sparse_kl", variant="vae")
    assert e.value.field == "variant"


def test_a_long_bad_value_is_cut_in_the_message():
    with pytest.raises(ConfigError) as refused:
        make_config("stacked", hidden="x" * 100_000)
    message = str(refused.value)
    assert len(message) < 200, message
    assert "(100,009 characters)" in message and message.startswith("hidden='xxxx")
    assert message.endswith("such as 300,100")  # the rule after the value is kept whole
