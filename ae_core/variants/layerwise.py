from ae_core.errors import ConfigError
from ae_core.registry import register
from ae_core.variants.base import AUTOENCODER, Variant


@register
class Layerwise(Variant):
    name = "layerwise"
    summary = (
        "Greedy layer-wise training: phase 1 trains the outer encoder and decoder layers with "
        "the inner ones bypassed, phase 2 trains the next pair to rebuild the first hidden "
        "layer with it frozen, and so on; the steps are shared equally between phases."
    )
    uses = AUTOENCODER
    defaults = {"hidden": (256,), "code_size": 32, "activation": "relu", "init": "he_uniform"}

    def check(self, config, dataset):
        if not config.hidden:
            raise ConfigError(
                "hidden",
                f"hidden={list(config.hidden)} is empty, but the layerwise variant needs at least "
                "one hidden layer (e.g. hidden=300), since it trains one layer pair per phase",
            )
        if config.steps < len(config.layer_sizes):
            raise ConfigError(
                "steps",
                f"steps={config.steps} is too few for {len(config.layer_sizes)} layer-wise "
                f"phases; use at least {len(config.layer_sizes)}",
            )

    def phases(self, model, settings=None):
        return model.layer_phases(settings)

    def phase_steps(self, config):
        count = len(config.layer_sizes)
        share, extra = divmod(config.steps, count)
        return [share + (extra if i == count - 1 else 0) for i in range(count)]
