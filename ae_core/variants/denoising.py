from ae_core.errors import ConfigError
from ae_core.registry import register
from ae_core.variants.base import AUTOENCODER, Variant


@register
class Denoising(Variant):
    name = "denoising"
    summary = (
        "Corrupts the input during training only (gaussian noise, or dropout of pixels) and "
        "learns to reconstruct the clean input."
    )
    uses = AUTOENCODER
    defaults = {
        "hidden": (256,),
        "code_size": 32,
        "activation": "relu",
        "init": "he_uniform",
        "noise": "gaussian",
        "noise_level": 0.4,
    }

    def check(self, config, dataset):
        if config.noise == "none":
            raise ConfigError(
                "noise",
                "the denoising variant needs noise='gaussian', 'gaussian_clipped' or 'dropout', "
                "not 'none'",
            )

    def extra_metrics(self, model, dataset):
        from ae_core.analysis import denoising_errors

        return denoising_errors(model, dataset.x_test[:2000])
