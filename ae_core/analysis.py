"""Pure functions on a trained model and data: what the app's views and the CLI's summary show.

Inputs and outputs are NumPy arrays (and plain dicts), so the results can be stored, compared
and plotted without TensorFlow.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import tensorflow as tf

from ae_core.model import Autoencoder

# Forward passes run in slices of this many examples to bound memory on big inputs.
_SLICE = 4096
# A unit is dead when its output does not change across the batch: it carries no information.
DEAD_RANGE = 1e-5


def _batched(function, x: np.ndarray) -> list[np.ndarray]:
    """Apply ``function`` (tensor -> tensor or list of tensors) in slices; concatenate the parts."""
    parts: list[list[np.ndarray]] = []
    for start in range(0, len(x), _SLICE):
        out = function(tf.constant(x[start : start + _SLICE], dtype=tf.float32))
        outs = out if isinstance(out, (list, tuple)) else [out]
        parts.append([np.asarray(o) for o in outs])
    if not parts:
        raise ValueError("no examples were given")
    return [np.concatenate(group) for group in zip(*parts, strict=True)]


def reconstruct(model: Autoencoder, x: np.ndarray) -> np.ndarray:
    """The model's reconstructions of ``x`` (the VAE decodes its latent mean)."""
    return _batched(model, x)[0]


def encode(model: Autoencoder, x: np.ndarray) -> np.ndarray:
    """The code of each example (the VAE's latent mean)."""
    return _batched(model.encode, x)[0]


def decode(model: Autoencoder, codes: np.ndarray) -> np.ndarray:
    return _batched(model.decode, np.asarray(codes, dtype=np.float32))[0]


def layer_activations(model: Autoencoder, x: np.ndarray) -> dict[str, np.ndarray]:
    """Activations of every layer for a batch: encoder layers (code last), then the decoder's."""

    def every_layer(batch):
        encoded = model.encode_layers(batch)
        return [*encoded, *model.decoder_activation_outputs(encoded[-1])]

    arrays = _batched(every_layer, x)
    names = [f"encoder {i + 1}" for i in range(model.encoder_depth)]
    names[-1] = "code"
    names += [f"decoder {i + 1}" for i in range(len(model.decoder_layers) - 1)] + ["output"]
    return dict(zip(names, arrays, strict=True))


def encoder_activations(model: Autoencoder, x: np.ndarray) -> list[np.ndarray]:
    return _batched(model.encode_layers, x)


def _unchanging(values: np.ndarray) -> np.ndarray:
    """Columns whose value is the same for every example of the batch."""
    return values.max(axis=0) - values.min(axis=0) < DEAD_RANGE


def dead_mask(activations: np.ndarray, targets: np.ndarray | None = None) -> np.ndarray:
    """The units whose activation is the same for every example of the batch.

    With ``targets``, what each unit should reproduce (the inputs, for the output layer), a
    unit whose target is itself the same for every example (a pixel dark in every digit) is
    not dead: one value is the right answer there.
    """
    dead = _unchanging(activations)
    if targets is not None:
        dead &= ~_unchanging(targets)
    return dead


def dead_units(activations: np.ndarray, targets: np.ndarray | None = None) -> int:
    """How many units ``dead_mask`` finds."""
    return int(dead_mask(activations, targets).sum())


def activation_summary(
    activations: np.ndarray, bins: int = 40, targets: np.ndarray | None = None
) -> dict:
    """Per-layer numbers: overall mean, mean per unit, histogram, dead units (``dead_mask``,
    with ``targets`` for the output layer) and how many units have a target that never
    changes (0 without ``targets``)."""
    counts, edges = np.histogram(activations, bins=bins)
    mask = dead_mask(activations, targets)
    return {
        "mean": float(activations.mean()),
        "unit_means": activations.mean(axis=0),
        "histogram_counts": counts,
        "histogram_edges": edges,
        "dead_mask": mask,
        "dead_units": int(mask.sum()),
        "units": int(activations.shape[1]),
        "constant_targets": 0 if targets is None else int(_unchanging(targets).sum()),
    }


def _as_images(vectors: np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
    return vectors.reshape(len(vectors), *image_shape)


def first_layer_weights(model: Autoencoder, units: int, image_shape: tuple[int, int]) -> np.ndarray:
    """The first encoder layer's incoming weights of the first ``units`` units, as images."""
    kernel = np.asarray(model.input_layer.kernel)  # (inputs, units)
    return _as_images(kernel[:, :units].T, image_shape)


def output_layer_weights(
    model: Autoencoder, units: int, image_shape: tuple[int, int]
) -> np.ndarray:
    """The weights from each of the first ``units`` units into the output pixels, as images.

    For a tied model these are the first layer's weights seen from the decoder: the same numbers.
    """
    last = model.decoder_layers[-1]
    kernel = np.asarray(
        last.kernel if hasattr(last, "kernel") else tf.transpose(last.source.kernel)
    )
    return _as_images(kernel[:units], image_shape)


def codes_2d(
    codes: np.ndarray, method: Literal["auto", "pca", "tsne"] = "auto", seed: int = 0
) -> tuple[np.ndarray, str]:
    """A 2-D view of codes: the codes themselves when 2-D, else PCA (auto) or t-SNE."""
    if codes.shape[1] == 2 and method == "auto":
        return codes.astype(np.float32), "code"
    if codes.shape[1] == 1:
        return np.column_stack([codes[:, 0], np.zeros(len(codes))]).astype(np.float32), "code"
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = min(30.0, max(2.0, (len(codes) - 1) / 3))
        points = TSNE(2, perplexity=perplexity, random_state=seed, init="pca").fit_transform(codes)
        return points.astype(np.float32), "t-SNE"
    from sklearn.decomposition import PCA

    return PCA(2, random_state=seed).fit_transform(codes).astype(np.float32), "PCA"


def interpolate(
    model: Autoencoder, start: np.ndarray, end: np.ndarray, steps: int = 8
) -> np.ndarray:
    """Decode evenly spaced points on the line between the codes of two inputs."""
    codes = encode(model, np.stack([start, end]))
    weights = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    return decode(model, (1 - weights) * codes[0] + weights * codes[1])


def vae_samples(model: Autoencoder, count: int, seed: int = 0) -> np.ndarray:
    """Decode codes drawn from N(0, I): the VAE generating new examples."""
    rng = np.random.default_rng(seed)
    return decode(
        model, rng.standard_normal((count, model.run_config.code_size)).astype(np.float32)
    )


def latent_grid(model: Autoencoder, size: int = 15, span: float = 2.5) -> np.ndarray:
    """Decodings over a size x size grid of the 2-D code plane, rows top (high y) to bottom."""
    if model.run_config.code_size != 2:
        raise ValueError(f"a latent grid needs code_size=2, not {model.run_config.code_size}")
    axis = np.linspace(-span, span, size, dtype=np.float32)
    grid = np.array([[x, y] for y in axis[::-1] for x in axis], dtype=np.float32)
    return decode(model, grid).reshape(size, size, -1)


def decoder_subspace(model: Autoencoder) -> np.ndarray:
    """Rows spanning the decoder's image, for a linear (affine) decoder: decode(e_i) - decode(0)."""
    size = model.run_config.code_size
    points = np.vstack([np.zeros((1, size)), np.eye(size)]).astype(np.float32)
    outputs = decode(model, points)
    return outputs[1:] - outputs[:1]


def subspace_vs_pca(model: Autoencoder, x_train: np.ndarray, x_test: np.ndarray, pca=None) -> dict:
    """How close a linear autoencoder's code subspace is to PCA's with as many components
    (``pca``: that PCA already fitted on ``x_train``, when the caller has one)."""
    from scipy.linalg import subspace_angles
    from sklearn.decomposition import PCA

    k = model.run_config.code_size
    pca = PCA(k).fit(x_train) if pca is None else pca
    pca_mse = float(np.mean((pca.inverse_transform(pca.transform(x_test)) - x_test) ** 2))
    autoencoder_mse = float(np.mean((reconstruct(model, x_test) - x_test) ** 2))
    angles = np.degrees(subspace_angles(decoder_subspace(model).T, pca.components_.T))
    return {
        "pca_mse": pca_mse,
        "autoencoder_mse": autoencoder_mse,
        "pca_mse_ratio": autoencoder_mse / pca_mse if pca_mse > 0 else math.inf,
        "max_principal_angle_deg": float(np.max(angles)),
        "principal_angles_deg": sorted(float(a) for a in angles),
    }


def linear_probe(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    test_features: np.ndarray,
    test_labels: np.ndarray,
    seed: int = 0,
) -> float:
    """Test accuracy of a logistic regression trained on the given features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, random_state=seed))
    probe.fit(train_features, train_labels)
    return float(probe.score(test_features, test_labels))


def probe_codes_vs_pixels(model: Autoencoder, dataset, max_train: int = 5000) -> dict:
    """Linear-probe accuracy on the codes against the same probe on raw pixels."""
    x_train, y_train = dataset.x_train[:max_train], dataset.y_train[:max_train]
    x_test, y_test = dataset.x_test, dataset.y_test
    return {
        "code_accuracy": linear_probe(
            encode(model, x_train), y_train, encode(model, x_test), y_test
        ),
        "pixel_accuracy": linear_probe(x_train, y_train, x_test, y_test),
    }


def objective_terms(model: Autoencoder, x: np.ndarray, limit: int = 10_000) -> dict[str, float]:
    """The training objective's terms on (up to ``limit`` of) ``x``, without input noise."""
    phase = model.full_phase()
    terms, _ = phase.compute(tf.constant(x[:limit]), tf.random.Generator.from_seed(0), False)
    return {name: float(terms[name]) for name in phase.term_names}


def reconstruction_mse(model: Autoencoder, x: np.ndarray) -> float:
    return float(np.mean((reconstruct(model, x) - x) ** 2))


def mean_example_mse(x_train: np.ndarray, x_test: np.ndarray) -> float:
    """The MSE on ``x_test`` of answering every example with the mean training example: the
    baseline a model that learned anything beats."""
    return float(np.mean((x_train.mean(axis=0) - x_test) ** 2))


def latent_kl_per_dimension(model: Autoencoder, x: np.ndarray) -> list[float]:
    """A VAE's KL from N(0, 1) of each latent dimension, averaged over ``x``."""
    from ae_core.losses import vae_kl_per_dimension

    means, log_variances = _batched(lambda batch: model.encode_distribution(batch)[1:], x)
    kl = vae_kl_per_dimension(tf.constant(means), tf.constant(log_variances))
    return [float(value) for value in np.asarray(kl)]


# A code value this close to zero counts as "off" for the sparsity measurements.
NEAR_ZERO = 0.1


def share_near_zero(codes: np.ndarray) -> float:
    """The fraction of code values whose magnitude is below NEAR_ZERO."""
    return float(np.mean(np.abs(codes) < NEAR_ZERO))


def denoising_errors(model: Autoencoder, x: np.ndarray, seed: int = 0) -> dict[str, float]:
    """MSE to the clean ``x`` of its noisy copy (the run's own noise and level) and of the
    model's reconstruction of that copy: how much the model removes."""
    from ae_core.model import add_training_noise

    config = model.run_config
    rng = tf.random.Generator.from_seed(seed)
    noisy = np.asarray(add_training_noise(config.noise, config.noise_level, tf.constant(x), rng))
    return {
        "noisy_input_mse": float(np.mean((noisy - x) ** 2)),
        "denoised_mse": float(np.mean((reconstruct(model, noisy) - x) ** 2)),
    }


def recent_loss(history: list, points: int = 10) -> float | None:
    """The median training loss over the last ``points`` history windows: a value that a late
    spike of a few steps (Adam at a learning rate of 0.01 has them) does not move."""
    losses = [p.loss for p in history[-points:]]
    return float(np.median(losses)) if losses else None


def run_summary(result) -> dict:
    """The measurements of a finished (or stopped, or failed) run, as plain JSON-ready data."""
    from ae_core import registry
    from ae_core.config import run_id_for

    model, dataset, config = result.model, result.dataset, result.config
    train_terms = objective_terms(model, dataset.x_train)
    test_sample = dataset.x_test[:2000]
    layers = encoder_activations(model, test_sample)
    summary = {
        "run_id": run_id_for(config, dataset.identity),
        "variant": config.variant,
        "dataset": config.dataset,
        "data_source": dataset.source,
        "data_in_words": dataset.in_words,
        "status": result.status,
        "reason": result.reason,
        "steps": result.steps_done,
        "total_steps": config.steps,
        "seconds": round(result.seconds, 3),
        "samples_per_s": round(result.samples_per_s, 1)
        if math.isfinite(result.samples_per_s)
        else None,
        "train_loss": sum(train_terms.values()),
        "loss_terms": train_terms,
        "test_loss": sum(objective_terms(model, dataset.x_test).values()),
        "test_mse": reconstruction_mse(model, dataset.x_test),
        "mean_example_mse": mean_example_mse(dataset.x_train, dataset.x_test),
        "recent_train_loss": recent_loss(result.history),
        "mean_activation": [float(a.mean()) for a in layers],
        "dead_units": [dead_units(a) for a in layers],
        "units": [int(a.shape[1]) for a in layers],
        "code_near_zero": share_near_zero(layers[-1]),
        "parameters": int(model.count_params()),
        "train_examples": len(dataset.x_train),
        "test_examples": len(dataset.x_test),
        "config": config.to_dict(),
    }
    summary.update(registry.get(config.variant).extra_metrics(model, dataset))
    return summary
