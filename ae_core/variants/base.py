"""What a variant is: defaults, the settings it fixes or ignores, extra checks, model and phases."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ae_core.config import field_names

if TYPE_CHECKING:
    from ae_core.config import RunConfig
    from ae_core.data import DatasetInfo
    from ae_core.model import Autoencoder, Phase


class Variant:
    """The plain end-to-end autoencoder; subclasses change only what makes them different."""

    name: ClassVar[str]
    summary: ClassVar[str]
    # Starting values for this variant; a user's settings go on top.
    defaults: ClassVar[dict[str, Any]] = {}
    # Settings that define the variant; any other value is an error.
    fixed: ClassVar[dict[str, Any]] = {}
    # Settings that mean nothing for this variant and must stay at the config default.
    unused: ClassVar[frozenset[str]] = frozenset({"kl_weight"})
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

    def options(self) -> list[str]:
        """The settings a user can change for this variant."""
        skip = set(self.fixed) | set(self.unused) | {"variant"}
        return [name for name in field_names() if name not in skip]
