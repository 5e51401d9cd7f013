from ae_core.errors import ConfigError
from ae_core.registry import register
from ae_core.variants.base import AUTOENCODER, Variant


@register
class SparseL1(Variant):
    name = "sparse_l1"
    summary = (
        "Adds an L1 penalty on the code activations (l1 times the sum of |code| per example), "
        "which pushes most code values to exactly zero."
    )
    uses = AUTOENCODER
    defaults = {
        "hidden": (),
        "code_size": 64,
        "activation": "relu",
        "init": "he_uniform",
        "l1": 0.01,
    }

    def check(self, config, dataset):
        if config.l1 <= 0:
            raise ConfigError(
                "l1", f"the sparse_l1 variant needs l1 > 0 (try 0.01), not {config.l1}"
            )
