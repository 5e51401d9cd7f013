from ae_core.registry import register
from ae_core.variants.base import LAYERS, NOISE, SPARSITY, TRAINING, Variant


@register
class Linear(Variant):
    name = "linear"
    summary = (
        "Undercomplete autoencoder with no activations and MSE loss: with k code units it "
        "learns the same subspace as the first k principal components (PCA)."
    )
    # No code activation: every layer is linear.
    uses = TRAINING | LAYERS | {"tied"} | NOISE | SPARSITY
    defaults = {
        "dataset": "toy3d",
        "hidden": (),
        "code_size": 2,
        "optimizer": "adam",
        "learning_rate": 0.01,
        "batch_size": 64,
        "steps": 1500,
    }
    fixed = {"activation": "linear", "output_activation": "linear", "loss": "mse"}

    def extra_metrics(self, model, dataset):
        from ae_core.analysis import subspace_vs_pca

        return subspace_vs_pca(model, dataset.x_train, dataset.x_test)
