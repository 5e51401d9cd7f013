from ae_core.registry import register
from ae_core.variants.base import AUTOENCODER, Variant


@register
class Stacked(Variant):
    name = "stacked"
    summary = (
        "Symmetric deep autoencoder of any depth, trained end to end; combines with tied "
        "weights, input noise, sparsity and L1."
    )
    uses = AUTOENCODER
    defaults = {"hidden": (256,), "code_size": 32, "activation": "relu", "init": "he_uniform"}
