from ae_core.registry import register
from ae_core.variants.base import Variant


@register
class VAE(Variant):
    name = "vae"
    summary = (
        "Variational autoencoder: mean and log-variance heads, the reparameterisation trick, "
        "cross-entropy from logits (summed over pixels) plus kl_weight * 0.5 * sum(exp(gamma) + "
        "mu^2 - 1 - gamma); decoding samples from N(0, I) generates digits. code_size is the "
        "latent size."
    )
    defaults = {
        "hidden": (256,),
        "code_size": 2,
        "activation": "relu",
        "init": "he_uniform",
        "steps": 3000,
    }
    fixed = {"loss": "bce", "output_activation": "sigmoid"}
    unused = frozenset(
        {
            "tied",
            "code_activation",
            "noise",
            "noise_level",
            "sparsity_target",
            "sparsity_weight",
            "sparsity_layers",
            "l1",
        }
    )
    needs_bottleneck = False
    generates = True

    def build(self, config, input_dim):
        from ae_core.model import VariationalAutoencoder

        return VariationalAutoencoder(config.to_dict(), input_dim)
