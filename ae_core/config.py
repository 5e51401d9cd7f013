"""The run configuration: one frozen dataclass, its field metadata, validation and the run id.

Every hyperparameter lives here once. The field metadata (label, help text, range, choices) drives
the command line's ``--set`` parsing, validation and, later, the app's widgets; adding a
hyperparameter means adding one field. Variant-specific rules live with the variant
(``ae_core.variants``), which this module asks through the registry.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import numbers
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ae_core.errors import ConfigError, shown_value
from ae_core.registry import DEFAULT_VARIANT

if TYPE_CHECKING:
    from ae_core.data import DatasetInfo
    from ae_core.variants.base import Variant

# Bump when a change to the engine would make results stored under an old run id wrong, so a
# cache keyed by run id never serves stale numbers. Version 3 made the data part of the id.
FORMAT_VERSION = 3
# Runs stored before the data was part of the id keep their version-2 ids, so they stay listed
# and loadable; a new submission never matches them (its id says which data it trains on).
LEGACY_FORMAT_VERSION = 2

MAX_LAYER_SIZE = 4096
# Seeds fit in 31 bits: the model derives each layer's seed from it (seed * 1009 + layer), and
# that must stay a 64-bit integer.
MAX_SEED = 2**31 - 1
MAX_DEPTH = 6

Activation = Literal["sigmoid", "relu", "elu", "linear"]


def _param(default: Any, label: str, help: str, **limits: Any) -> Any:
    """A dataclass field whose metadata describes it for people (label, help, and the group of
    settings it belongs to: data, model, training or regularisation) and for checks.

    For the app's form: ``design`` ranks the settings this app is known by (code size, beta,
    sparsity target, noise level), drawn first; ``slider_values`` are the stops of a whole-number
    slider; ``needs=(other, off)`` says the setting cannot change the result while ``other`` is
    ``off`` (the form greys it out), ``inert_value`` is the value it must then take and
    ``active_start`` where it starts when ``other`` is switched on; ``max_when`` narrows the
    range for some values of ``other``.

    ``run_time`` marks a setting the compiled training step reads while it runs (a variable, not
    a constant of the graph): runs that differ only in such settings share one compilation
    (``shape_signature``). ``run_time="weight"`` is a loss weight whose zero drops its term.
    """
    return field(default=default, metadata={"label": label, "help": help, **limits})


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides a training run; equal configs give equal run ids and results."""

    variant: str = _param(
        DEFAULT_VARIANT, "Variant", "Which kind of autoencoder to train.", group="data"
    )
    dataset: str = _param("mnist", "Dataset", "The data to reconstruct.", group="data")
    hidden: tuple[int, ...] = _param(
        (256,),
        "Hidden layers",
        "Sizes of the encoder's hidden layers, outermost first (e.g. 300,100); the decoder mirrors "
        "them. Empty for a single-layer autoencoder.",
        min=1,
        max=MAX_LAYER_SIZE,
        group="model",
    )
    code_size: int = _param(
        32,
        "Code size",
        "Units in the code (bottleneck) layer; for the VAE, the size of the latent space.",
        min=1,
        max=MAX_LAYER_SIZE,
        step=1,
        group="model",
        design=1,
        slider_values=(2, 4, 8, 16, 32, 64, 128, 256, 512),
    )
    activation: Activation = _param(
        "relu",
        "Activation",
        "Non-linearity of the hidden layers of encoder and decoder.",
        group="model",
    )
    code_activation: Literal["same", "sigmoid", "relu", "elu", "linear"] = _param(
        "same",
        "Code activation",
        "Non-linearity of the code layer; 'same' uses the hidden-layer activation.",
        group="model",
    )
    output_activation: Literal["sigmoid", "linear", "relu"] = _param(
        "sigmoid",
        "Output activation",
        "Non-linearity of the reconstruction; sigmoid keeps pixels in (0, 1).",
        group="model",
    )
    loss: Literal["mse", "bce"] = _param(
        "bce",
        "Reconstruction loss",
        "mse: mean squared error; bce: binary cross-entropy per pixel (needs a sigmoid output).",
        group="training",
    )
    optimizer: Literal["sgd", "rmsprop", "rmsprop_tf1", "adam"] = _param(
        "adam",
        "Optimizer",
        "The gradient-descent rule that updates the weights. rmsprop_tf1 is TensorFlow 1's "
        "RMSProp (mean square starting at 1, epsilon 1e-10 inside the square root), which the "
        "classic TensorFlow 1 tutorials used; its first steps are much smaller than Keras's.",
        group="training",
    )
    learning_rate: float = _param(
        1e-3,
        "Learning rate",
        "Step size of the optimizer.",
        min=1e-6,
        max=10.0,
        log=True,
        run_time=True,
        group="training",
    )
    batch_size: int = _param(
        64,
        "Batch size",
        "Examples per optimisation step, drawn at random with replacement; a batch as large as "
        "the training set uses every example once (full-batch training).",
        min=1,
        max=4096,
        step=1,
        group="training",
    )
    steps: int = _param(
        2000,
        "Steps",
        "Optimisation steps to train for.",
        min=1,
        max=1_000_000,
        step=1,
        run_time=True,
        group="training",
    )
    init: Literal[
        "glorot_uniform",
        "glorot_normal",
        "he_uniform",
        "he_normal",
        "lecun_normal",
        "truncated_normal",
    ] = _param(
        "glorot_uniform",
        "Weight initialisation",
        "How the kernels start: Glorot suits sigmoid and linear units, He suits ReLU and ELU; "
        "truncated_normal draws from a normal with standard deviation 0.1 cut at two deviations "
        "(tf.truncated_normal, as in the TensorFlow 1 tutorials), whatever the layer's width.",
        run_time=True,
        group="model",
    )
    bias_init: float = _param(
        0.0,
        "Initial bias",
        "The value every bias starts at; the TensorFlow 1 tutorials used 0.1, which keeps ReLU "
        "units active at the start.",
        min=-1.0,
        max=1.0,
        step=0.05,
        run_time=True,
        group="model",
    )
    l2: float = _param(
        0.0,
        "L2 weight decay",
        "Weight of the sum of squared kernel weights added to the loss (tied kernels count once). "
        "TensorFlow 1's tf.nn.l2_loss halves that sum, so a tutorial's weight on it is twice "
        "this one.",
        min=0.0,
        max=1.0,
        run_time="weight",
        group="regularisation",
    )
    tied: bool = _param(
        False,
        "Tied weights",
        "The decoder uses the transposes of the encoder kernels (the same variables), halving "
        "the parameters; biases stay separate.",
        group="model",
    )
    noise: Literal["none", "gaussian", "gaussian_clipped", "dropout"] = _param(
        "none",
        "Input noise",
        "Corrupt the input during training only (the loss compares with the clean input): "
        "gaussian adds noise, gaussian_clipped adds it and clips the result to [0, 1] (so noisy "
        "pixels stay valid grey levels), dropout zeroes random pixels.",
        group="regularisation",
        design=4,  # drawn beside the noise level, which it switches on
    )
    noise_level: float = _param(
        0.0,
        "Noise level",
        "Standard deviation of the gaussian noise (before any clipping), or the probability "
        "that dropout zeroes a pixel.",
        min=0.0,
        max=5.0,
        step=0.05,
        run_time=True,
        group="regularisation",
        design=5,
        needs=("noise", "none"),
        inert_value=0.0,
        active_start=0.3,
        max_when={"dropout": 0.95},
    )
    sparsity_target: float = _param(
        0.1,
        "Sparsity target",
        "The mean activation each penalised unit should have over a batch (strictly between 0 "
        "and 1).",
        min=0.0,
        max=1.0,
        exclusive=True,
        step=0.01,
        run_time=True,
        group="regularisation",
        design=3,
        needs=("sparsity_weight", 0.0),
    )
    sparsity_weight: float = _param(
        0.0,
        "Beta (sparsity weight)",
        "Beta weighs the KL-divergence sparsity penalty, KL(target || mean activation) summed "
        "over units, against the reconstruction error; 0 turns it off.",
        min=0.0,
        max=100.0,
        run_time="weight",
        group="regularisation",
        design=2,
    )
    sparsity_layers: str = _param(
        "code",
        "Sparsity layers",
        "Encoder layers the sparsity penalty applies to: 'code', 'all', or 1-based layer numbers "
        "such as 1,2.",
        group="regularisation",
        needs=("sparsity_weight", 0.0),
    )
    l1: float = _param(
        0.0,
        "L1 activity weight",
        "Weight of the L1 penalty on the code: the sum of |code| over its units, averaged over "
        "the batch (so it does not depend on the batch size).",
        min=0.0,
        max=100.0,
        run_time="weight",
        group="regularisation",
    )
    kl_weight: float = _param(
        1.0,
        "Beta (KL weight)",
        "VAE only: beta weighs the KL term, the latent loss 0.5 * sum(exp(gamma) + mu^2 - 1 - "
        "gamma), against the reconstruction error; 1 is the plain VAE, more trades detail for "
        "a smoother latent space.",
        min=0.0,
        max=100.0,
        exclusive_min=True,
        run_time=True,
        group="regularisation",
        design=2,
    )
    seed: int = _param(
        0,
        "Random seed",
        "Same seed and settings give the same numbers.",
        min=0,
        max=MAX_SEED,
        run_time=True,
        group="training",
    )
    # A continuation: ``steps`` counts the parent's steps too, of which the last ``extra_steps``
    # are this run's. In no settings form (no variant uses them) and, at their defaults, not in
    # ``to_dict`` either, so a run that continues nothing keeps the config and id it always had.
    parent: str | None = _param(
        None,
        "Continued from",
        "The run whose final model this run starts from (its weights; the optimizer starts "
        "afresh), or none for a run trained from scratch.",
        run_time=True,
        group="training",
        continuation=True,
    )
    extra_steps: int = _param(
        0,
        "Extra steps",
        "The steps a continuation trains after its parent's (0 for a run trained from scratch).",
        min=0,
        max=1_000_000,
        step=1,
        run_time=True,
        group="training",
        continuation=True,
    )

    def __post_init__(self) -> None:
        # Accept the forms people type (lists, "300,100") but store one canonical, hashable form.
        object.__setattr__(self, "hidden", _as_layer_sizes(self.hidden))
        _validate(self)
        # Equal meanings, equal run ids: "2, 1" and "1,2" penalise the same layers.
        if self.sparsity_layers not in ("code", "all"):
            numbers_text = ",".join(str(i + 1) for i in self.penalised_layers)
            object.__setattr__(self, "sparsity_layers", numbers_text)

    # -- conversions -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        # Every value is an immutable scalar or the tuple of layer sizes, so no deep copy (as
        # dataclasses.asdict makes) is needed; the run id and listing runs call this a lot.
        values = {name: getattr(self, name) for name in _FIELD_NAMES}
        values["hidden"] = list(self.hidden)
        for name in _CONTINUATION_FIELDS:
            if values[name] == RunConfig.__dataclass_fields__[name].default:
                del values[name]
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        for name in sorted(set(values) - set(field_names())):
            field_spec(name)  # raises, listing the known settings
        return cls(**values)

    def replace(self, **changes: Any) -> RunConfig:
        return RunConfig.from_dict({**self.to_dict(), **changes})

    @property
    def run_id(self) -> str:
        """A short stable id: the variant name and a hash of the canonical config, the data it
        resolves to in this process (``ae_core.data.data_identity``) and the format version."""
        from ae_core.data import data_identity

        return run_id_for(self, data_identity(self.dataset))

    @property
    def shape_signature(self) -> tuple:
        """What decides the compiled training step's graph: every setting but the run-time ones
        (``run_time`` in the field metadata), and for loss weights only whether they are zero (a
        zero weight drops its term). Runs with equal signatures share one compilation."""
        signature = []
        for spec in dataclasses.fields(self):
            value, run_time = getattr(self, spec.name), spec.metadata.get("run_time")
            if run_time:
                value = value != 0 if run_time == "weight" else None
            signature.append((spec.name, value))
        return tuple(signature)

    # -- derived facts the model and trainer share --------------------------------------------
    @property
    def start_step(self) -> int:
        """The step this run starts from: its parent's last for a continuation, else 0."""
        return self.steps - self.extra_steps if self.parent is not None else 0

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Encoder layer widths, outermost first, ending with the code."""
        return (*self.hidden, self.code_size)

    @property
    def resolved_code_activation(self) -> str:
        return self.activation if self.code_activation == "same" else self.code_activation

    @property
    def encoder_activations(self) -> tuple[str, ...]:
        return (self.activation,) * len(self.hidden) + (self.resolved_code_activation,)

    @property
    def is_linear(self) -> bool:
        """No non-linearity anywhere (any variant): the decoder is an affine map, so the code's
        subspace can be compared with PCA's."""
        return set(self.encoder_activations) == {"linear"} and self.output_activation == "linear"

    @property
    def penalised_layers(self) -> tuple[int, ...]:
        """0-based indices of the encoder layers the KL sparsity penalty applies to."""
        return _parse_sparsity_layers(self.sparsity_layers, len(self.layer_sizes))


def run_id_for(config: RunConfig, data: dict[str, Any] | None) -> str:
    """The run id of ``config`` trained on the data of identity ``data``; ``data=None`` gives the
    id such a run had before the data was part of it (format 2), for runs stored then."""
    if data is None:
        identity: dict[str, Any] = {"format": LEGACY_FORMAT_VERSION, "config": config.to_dict()}
    else:
        identity = {"format": FORMAT_VERSION, "config": config.to_dict(), "data": data}
    canonical = json.dumps(identity, sort_keys=True, allow_nan=False)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:12]
    return f"{config.variant}-{digest}"


def short_run_id(run_id: str) -> str:
    """The start of a run id's hash, enough to tell runs apart where their names are equal
    (``stacked-0123456789ab`` -> ``012345``)."""
    return run_id.rsplit("-", 1)[-1][:6]


def make_config(variant: str = DEFAULT_VARIANT, /, **settings: Any) -> RunConfig:
    """A config for ``variant``: the variant's defaults, then ``settings`` on top (which may
    repeat the variant, not name another)."""
    from ae_core import registry

    if settings.get("variant", variant) != variant:
        raise ConfigError(
            "variant",
            f"variant={shown_value(settings['variant'])} conflicts with the variant chosen, "
            f"{variant!r}: choose the variant once (the command line's --variant)",
        )
    chosen = registry.get(variant)
    return RunConfig.from_dict({**chosen.defaults, **chosen.fixed, **settings, "variant": variant})


# -- fields as data ---------------------------------------------------------------------------
_FIELD_NAMES = tuple(spec.name for spec in dataclasses.fields(RunConfig))
_CONTINUATION_FIELDS = tuple(
    spec.name for spec in dataclasses.fields(RunConfig) if spec.metadata.get("continuation")
)
# What a run id looks like: the variant's name, a dash, twelve hex digits of a hash.
RUN_ID_PATTERN = re.compile(r"[a-z0-9_]+-[0-9a-f]{12}")


def field_names() -> list[str]:
    return list(_FIELD_NAMES)


def field_spec(name: str) -> dataclasses.Field:
    for spec in dataclasses.fields(RunConfig):
        if spec.name == name:
            return spec
    raise ConfigError(
        name, f"unknown setting '{name}'; known settings are: {', '.join(field_names())}"
    )


def field_type(name: str) -> Any:
    return _type_hints()[name]


@functools.cache
def _type_hints() -> dict[str, Any]:
    # Resolving the hints evaluates every annotation; validating one config asks ~50 times, and
    # the app validates every stored run each time it lists them.
    return typing.get_type_hints(RunConfig)


def field_choices(name: str) -> tuple[str, ...] | None:
    """The allowed values of a Literal field, or None for free-form fields."""
    hint = field_type(name)
    return typing.get_args(hint) if typing.get_origin(hint) is Literal else None


def parse_setting(name: str, text: str) -> Any:
    """Turn the text of ``--set name=text`` into the field's type, or raise ConfigError."""
    spec = field_spec(name)
    hint = field_type(name)
    text = text.strip()
    try:
        if hint is bool:
            lowered = text.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if hint is int:
            return int(text)
        if hint is float:
            return float(text)
        if spec.name == "hidden":
            return _as_layer_sizes(text)
    except ValueError:
        kind = {bool: "true or false", int: "a whole number", float: "a number"}.get(
            hint, "comma-separated whole numbers such as 300,100"
        )
        raise ConfigError(name, f"{name}={text!r} is not valid: expected {kind}") from None
    return text


# -- validation -------------------------------------------------------------------------------
def _as_layer_sizes(value: Any) -> tuple[int, ...]:
    if isinstance(value, str):
        parts = [p for p in value.replace(" ", "").split(",") if p]
        try:
            return tuple(int(p) for p in parts)
        except ValueError:
            raise ConfigError(
                "hidden",
                f"hidden={value!r} is not valid: expected comma-separated whole numbers such as "
                "300,100",
            ) from None
    if _is_whole_number(value):
        return (int(value),)
    try:
        sizes = tuple(value)
    except TypeError:
        raise ConfigError("hidden", f"hidden={value!r} is not a list of layer sizes") from None
    if not all(_is_whole_number(s) for s in sizes):
        raise ConfigError("hidden", f"hidden={value!r} must hold whole numbers only")
    return tuple(int(s) for s in sizes)


def _is_whole_number(value: Any) -> bool:
    # numbers.Integral admits NumPy integers (sweeps and widgets produce them), bool does not count.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _parse_sparsity_layers(text: str, depth: int) -> tuple[int, ...]:
    if text == "code":
        return (depth - 1,)
    if text == "all":
        return tuple(range(depth))
    try:
        numbers = sorted({int(p) for p in text.split(",") if p.strip()})
    except ValueError:
        numbers = []
    if not numbers or not all(1 <= n <= depth for n in numbers):
        raise ConfigError(
            "sparsity_layers",
            f"sparsity_layers={text!r} is not valid: use 'code', 'all', or encoder layer numbers "
            f"from 1 to {depth} separated by commas",
        )
    return tuple(n - 1 for n in numbers)


def _check_field_type(config: RunConfig, spec: dataclasses.Field) -> None:
    """The field's kind: one of its choices, true or false, or a finite number (kept as a plain
    int or float)."""
    name, value, hint = spec.name, getattr(config, spec.name), field_type(spec.name)
    choices = field_choices(name)
    if choices is not None and value not in choices:
        raise ConfigError(
            name, f"{name}={value!r} is not allowed; choose one of: {', '.join(choices)}"
        )
    if hint is bool and not isinstance(value, bool):
        raise ConfigError(name, f"{name}={value!r} must be true or false")
    if hint in (int, float):
        is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if hint is int and not (is_number and float(value).is_integer()):
            raise ConfigError(name, f"{name}={value!r} must be a whole number")
        if not is_number or not math.isfinite(value):
            raise ConfigError(name, f"{name}={value!r} must be a finite number")
        # Plain Python numbers, and 0.0 rather than -0.0, so equal configs hash equally.
        value = int(value) if hint is int else float(value) + 0.0
        object.__setattr__(config, name, value)


def _check_field_range(config: RunConfig, spec: dataclasses.Field) -> None:
    """A number, or each layer size, within the field's ``min`` and ``max``; and the depth."""
    name, value, meta = spec.name, getattr(config, spec.name), spec.metadata
    if name == "hidden":
        if len(value) > MAX_DEPTH - 1:
            raise ConfigError(
                name,
                f"hidden={list(value)} has {len(value)} layers; at most {MAX_DEPTH - 1} allowed",
            )
        items = value
    else:
        items = (value,) if field_type(name) in (int, float) else ()
    low, high = meta.get("min"), meta.get("max")
    open_low = meta.get("exclusive", False) or meta.get("exclusive_min", False)
    open_high = meta.get("exclusive", False)
    for item in items:
        below = low is not None and (item <= low if open_low else item < low)
        above = high is not None and (item >= high if open_high else item > high)
        if below or above:
            bounds = (
                f"{'(' if open_low else '['}{low}, {high if high is not None else 'inf'}"
                f"{')' if open_high else ']'}"
            )
            shown = list(value) if name == "hidden" else value
            raise ConfigError(
                name, f"{name}={shown} is out of range: allowed values are in {bounds}"
            )


# -- rules across fields: each takes the config, its variant and its dataset's facts -----------
def _fixed_settings_kept(config: RunConfig, variant: Variant, data: DatasetInfo) -> None:
    for name, required in variant.fixed.items():
        if getattr(config, name) != required:
            raise ConfigError(
                name,
                f"{name}={getattr(config, name)!r} is not allowed for the {config.variant} "
                f"variant, which needs {name}={required!r}",
            )


def _unused_settings_at_default(config: RunConfig, variant: Variant, data: DatasetInfo) -> None:
    defaults = RunConfig.__dataclass_fields__
    for name in sorted(variant.unused):
        if getattr(config, name) != defaults[name].default:
            raise ConfigError(
                name,
                f"{name}={getattr(config, name)!r} does not apply to the {config.variant} variant; "
                f"leave it at {defaults[name].default!r}",
            )


def _variant_own_rules(config: RunConfig, variant: Variant, data: DatasetInfo) -> None:
    variant.check(config, data)


def _bce_needs_sigmoid_output(config: RunConfig, variant: Variant, data: DatasetInfo) -> None:
    if config.loss == "bce" and config.output_activation != "sigmoid":
        raise ConfigError(
            "loss",
            f"loss='bce' needs output_activation='sigmoid' (outputs in (0, 1)), not "
            f"{config.output_activation!r}; use loss='mse' for other outputs",
        )


def _bce_needs_unit_range_data(config: RunConfig, variant: Variant, data: DatasetInfo) -> None:
    if config.loss == "bce" and not data.unit_range:
        raise ConfigError(
            "loss", f"loss='bce' needs data in [0, 1], and {config.dataset} is not; use loss='mse'"
        )


def _noise_level_fits_noise(config: RunConfig, variant: Variant, data: DatasetInfo) -> None:
    if config.noise == "none" and config.noise_level != 0:
        raise ConfigError(
            "noise_level",
            f"noise_level={config.noise_level} has no effect with noise='none'; set noise to "
            "'gaussian', 'gaussian_clipped' or 'dropout', or noise_level to 0",
        )
    if config.noise != "none" and config.noise_level <= 0:
        raise ConfigError(
            "noise_level", f"noise='{config.noise}' needs noise_level > 0, not {config.noise_level}"
        )
    if config.noise == "dropout" and config.noise_level >= 1:
        raise ConfigError(
            "noise_level",
            f"noise_level={config.noise_level} is a dropout probability and must be in (0, 1)",
        )


def _penalised_layers_are_sigmoid(config: RunConfig, variant: Variant, data: DatasetInfo) -> None:
    penalised = config.penalised_layers  # raises for a malformed sparsity_layers
    if config.sparsity_weight <= 0:
        return
    activations = config.encoder_activations
    for index in penalised:
        if activations[index] != "sigmoid":
            setting = "code_activation" if index == len(activations) - 1 else "activation"
            raise ConfigError(
                setting,
                f"the KL sparsity penalty needs values in (0, 1), so encoder layer {index + 1} "
                f"must be sigmoid, not {activations[index]!r}; set {setting}='sigmoid' or "
                "sparsity_weight=0",
            )


def _code_smaller_than_input(config: RunConfig, variant: Variant, data: DatasetInfo) -> None:
    # A code as wide as the input may copy it, unless something else stops that.
    regularised_code = (
        (config.sparsity_weight > 0 and len(config.layer_sizes) - 1 in config.penalised_layers)
        or config.l1 > 0
        or config.noise != "none"
        or not variant.needs_bottleneck
    )
    if config.code_size > data.input_dim and not regularised_code:
        raise ConfigError(
            "code_size",
            f"code_size={config.code_size} is larger than the input ({data.input_dim} values for "
            f"{config.dataset}), so the autoencoder could learn the identity; use at most "
            f"{data.input_dim}, or add a sparsity penalty, L1 or input noise",
        )


def _continuation_names_its_parent(config: RunConfig, variant: Variant, data: DatasetInfo) -> None:
    if config.parent is None:
        if config.extra_steps != 0:
            raise ConfigError(
                "extra_steps",
                f"extra_steps={config.extra_steps} needs a parent run to continue; leave it at 0",
            )
        return
    if not isinstance(config.parent, str) or not RUN_ID_PATTERN.fullmatch(config.parent):
        raise ConfigError(
            "parent",
            f"parent={shown_value(config.parent)} is not a run id (such as "
            f"'{config.variant}-0123456789ab')",
        )
    if not config.parent.startswith(f"{config.variant}-"):
        raise ConfigError(
            "parent",
            f"parent={config.parent!r} is not a {config.variant} run; a run continues one of "
            "its own variant",
        )
    if not 1 <= config.extra_steps <= config.steps:
        raise ConfigError(
            "extra_steps",
            f"extra_steps={config.extra_steps} is not valid for a continuation of "
            f"{config.steps:,} steps in all: use 1 to {config.steps:,}",
        )


# Run in this order after every field has passed its own checks; the first problem is reported.
# A new rule is one more function here.
VALIDATION_RULES: tuple[Callable[[RunConfig, Variant, DatasetInfo], None], ...] = (
    _fixed_settings_kept,
    _unused_settings_at_default,
    _variant_own_rules,
    _bce_needs_sigmoid_output,
    _bce_needs_unit_range_data,
    _noise_level_fits_noise,
    _penalised_layers_are_sigmoid,
    _code_smaller_than_input,
    _continuation_names_its_parent,
)


def _validate(config: RunConfig) -> None:
    """Raise ConfigError for the first problem: each field alone (its kind, then its range), the
    variant and dataset it names, then ``VALIDATION_RULES`` in order."""
    from ae_core import registry
    from ae_core.data import dataset_info

    for spec in dataclasses.fields(RunConfig):
        _check_field_type(config, spec)
        _check_field_range(config, spec)
    variant = registry.get(config.variant)  # raises ConfigError listing the known variants
    try:
        data = dataset_info(config.dataset)
    except ValueError as error:
        raise ConfigError("dataset", str(error)) from None
    for rule in VALIDATION_RULES:
        rule(config, variant, data)
