from ae_core.registry import register
from ae_core.variants.base import AUTOENCODER, Variant


@register
class Tied(Variant):
    name = "tied"
    summary = (
        "Stacked autoencoder whose decoder kernels are the transposes of the encoder kernels "
        "(the same variables); biases are not tied, and only encoder kernels get L2."
    )
    uses = AUTOENCODER
    defaults = {"hidden": (256,), "code_size": 32, "activation": "relu", "init": "he_uniform"}
    fixed = {"tied": True}
