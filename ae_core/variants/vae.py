from ae_core.registry import register
from ae_core.variants.base import LAYERS, TRAINING, Variant


@register
class VAE(Variant):
    name = "vae"
    summary = (
        "Variational autoencoder: mean and log-variance heads, the reparameterisation trick, "
        "cross-entropy from logits (summed over pixels) plus kl_weight * 0.5 * sum(exp(gamma) + "
        "mu^2 - 1 - gamma); decoding samples from N(0, I) generates digits. code_size is the "
        "latent size."
    )
    # Its code is sampled from two heads (no code activation), and its latent loss takes the
    # place of input noise and sparsity; its decoder is never tied.
    uses = TRAINING | LAYERS | {"kl_weight"}
    defaults = {
        "hidden": (256,),
        "code_size": 2,
        "activation": "relu",
        "init": "he_uniform",
        "steps": 3000,
    }
    fixed = {"loss": "bce", "output_activation": "sigmoid"}
    needs_bottleneck = False
    generates = True

    def build(self, config, input_dim):
        from ae_core.model import VariationalAutoencoder

        return VariationalAutoencoder(config.to_dict(), input_dim)

    def extra_metrics(self, model, dataset):
        from ae_core.analysis import latent_kl_per_dimension

        return {"kl_per_dimension": latent_kl_per_dimension(model, dataset.x_test)}
