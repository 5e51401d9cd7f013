"""What a variant is: the settings it uses, its defaults and the ones it fixes, extra checks, model
and phases. The groups of settings variants share are named here once; a variant composes them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ae_core.config import field_names

if TYPE_CHECKING:
    from ae_core.config import RunConfig
    from ae_core.data import DatasetInfo
    from ae_core.model import Autoencoder, Phase

# In every config, yet an option of no variant: the choice of variant itself, and what a
# continuation continues (``ae_core.continuation``).
EVERY_VARIANT = frozenset({"variant", "parent", "extra_steps"})
# What a run trains on and how: the data, the loss, the optimizer, the initial weights, the seed.
TRAINING = frozenset(
    {
        "dataset",
        "loss",
        "optimizer",
        "learning_rate",
        "batch_size",
        "steps",
        "init",
        "bias_init",
        "l2",
        "seed",
    }
)
# The encoder's layers (the decoder mirrors them) and the reconstruction's activation.
LAYERS = frozenset({"hidden", "code_size", "activation", "output_activation"})
# Input corrupted during training only.
NOISE = frozenset({"noise", "noise_level"})
# Penalties that make the code sparse: KL divergence of mean activations, L1 of the code.
SPARSITY = frozenset({"sparsity_target", "sparsity_weight", "sparsity_layers", "l1"})
# The deterministic autoencoder's settings, which most variants use as they are.
AUTOENCODER = TRAINING | LAYERS | {"code_activation", "tied"} | NOISE | SPARSITY


class Variant:
    """The plain end-to-end autoencoder; subclasses change only what makes them different."""

    name: ClassVar[str]
    summary: ClassVar[str]
    # The settings this variant reads, composed from the groups above; every other setting
    # means nothing for it and must stay at the config default (``unused``).
    uses: ClassVar[frozenset[str]]
    # Starting values for this variant; a user's settings go on top.
    defaults: ClassVar[dict[str, Any]] = {}
    # Settings it uses at one value that defines the variant; any other value is an error.
    fixed: ClassVar[dict[str, Any]] = {}
    # False where the objective itself stops the code copying the input (the VAE's latent loss).
    needs_bottleneck: ClassVar[bool] = True
    # True where decoding codes drawn from the prior makes new examples (the VAE's).
    generates: ClassVar[bool] = False

    def check(self, config: RunConfig, dataset: DatasetInfo) -> None:
        """Raise ConfigError for combinations this variant cannot train."""

    def build(self, config: RunConfig, input_dim: int) -> Autoencoder:
        from ae_core.model import Autoencoder

        return Autoencoder(config.to_dict(), input_dim)

    def phases(self, model: Autoencoder, settings: Any = None) -> list[Phase]:
        """The training objectives, run in order (``settings``: see ``Autoencoder.full_phase``)."""
        return [model.full_phase(settings)]

    def phase_steps(self, config: RunConfig) -> list[int]:
        """The steps of each phase, in order; they add up to ``config.steps``."""
        return [config.steps]

    def extra_metrics(self, model: Autoencoder, dataset) -> dict[str, Any]:
        """Measurements only this variant has, added to the run summary."""
        return {}

    @property
    def unused(self) -> frozenset[str]:
        """The settings this variant does not read: they must stay at the config default."""
        return frozenset(field_names()) - self.uses - EVERY_VARIANT

    def options(self) -> list[str]:
        """The settings a user can change for this variant, in the config's order."""
        return [name for name in field_names() if name in self.uses and name not in self.fixed]
