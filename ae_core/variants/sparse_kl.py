from ae_core.errors import ConfigError
from ae_core.registry import register
from ae_core.variants.base import AUTOENCODER, Variant


@register
class SparseKL(Variant):
    name = "sparse_kl"
    summary = (
        "Adds beta * KL(target || mean activation over the batch), summed over units, on the "
        "chosen sigmoid layers, plus optional L2 weight decay: most units stay near zero."
    )
    uses = AUTOENCODER
    defaults = {
        "hidden": (),
        "code_size": 256,
        "activation": "sigmoid",
        "sparsity_target": 0.1,
        "sparsity_weight": 0.1,
        "sparsity_layers": "code",
    }

    def check(self, config, dataset):
        if config.sparsity_weight <= 0:
            raise ConfigError(
                "sparsity_weight",
                "the sparse_kl variant needs sparsity_weight > 0 (try 0.1), not "
                f"{config.sparsity_weight}",
            )
