"""What each of the app's views shows about one trained model, as plain data.

Every function takes a model and its dataset and returns NumPy arrays and plain dicts (no
TensorFlow types, no figures), so the app can cache the results per run and draw them with
``ae_core.figures``, and the tests can check the numbers. The heavy lifting is in
``ae_core.analysis``; this module picks the examples, applies the view's options and names the
parts for the page.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from ae_core import analysis
from ae_core.config import RunConfig
from ae_core.data import Dataset
from ae_core.model import Autoencoder, add_training_noise

# Test examples the activation and latent views run through the model: enough for smooth
# histograms and a readable scatter, few enough to draw in well under a second.
ACTIVATION_EXAMPLES = 1000
LATENT_EXAMPLES = 2000
PROBE_TRAIN_EXAMPLES = 4000


def is_image_data(dataset: Dataset) -> bool:
    return dataset.info.image_shape is not None


def _images(vectors: np.ndarray, dataset: Dataset) -> np.ndarray:
    return np.asarray(vectors, dtype=np.float32).reshape(len(vectors), *dataset.info.image_shape)


def example_indices(dataset: Dataset, count: int, seed: int = 0) -> np.ndarray:
    """``count`` test examples, the same ones for every run on this dataset: one of each label
    first (in label order) where labels exist, so a row of ten digits shows 0 to 9."""
    count = max(1, min(count, len(dataset.x_test)))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(dataset.x_test))
    chosen: list[int] = []
    for label in np.unique(dataset.y_test):
        first = order[dataset.y_test[order] == label]
        if len(first) and len(chosen) < count:
            chosen.append(int(first[0]))
    taken = set(chosen)
    rest = [int(i) for i in order if int(i) not in taken]
    return np.array((chosen + rest)[:count])


def noisy_inputs(config: RunConfig, x: np.ndarray, noise_level: float, seed: int = 0) -> np.ndarray:
    """The run's training-time corruption (``config.noise``) at ``noise_level``: the trainer's
    own rule (gaussian adds N(0, level^2), gaussian_clipped then clips to [0, 1]; dropout
    zeroes pixels with probability level and scales the rest by 1 / (1 - level))."""
    if config.noise == "dropout" and not 0 <= noise_level < 1:
        raise ValueError(f"a dropout noise level must be in [0, 1), not {noise_level}")
    x = np.asarray(x, dtype=np.float32)
    rng = tf.random.Generator.from_seed(seed)
    return np.asarray(add_training_noise(config.noise, float(noise_level), tf.constant(x), rng))


def reconstructions(
    model: Autoencoder,
    dataset: Dataset,
    count: int = 10,
    noise_level: float | None = None,
    seed: int = 0,
) -> dict:
    """Inputs over their reconstructions; for a run trained with input noise, clean / noisy /
    denoised rows, the noise at ``noise_level`` (default: the level it was trained with).

    Returns ``images`` (rows stacked, ``count`` per row), ``row_labels``, ``labels`` of the
    digits shown and the mean squared error against the clean input of each row after the first.
    """
    config = model.run_config
    indices = example_indices(dataset, count, seed)
    clean = dataset.x_test[indices]
    if config.noise == "none":
        rows = {"input": clean, "reconstruction": analysis.reconstruct(model, clean)}
    else:
        level = config.noise_level if noise_level is None else float(noise_level)
        noisy = noisy_inputs(config, clean, level, seed)
        rows = {
            "clean": clean,
            f"noisy ({config.noise} {level:g})": noisy,
            "denoised": analysis.reconstruct(model, noisy),
        }
    names = list(rows)
    errors = {name: float(np.mean((rows[name] - clean) ** 2)) for name in names[1:]}
    # Noisy pixels can leave [0, 1]; they are shown clipped, and measured as they are.
    stacked = np.concatenate([np.clip(rows[name], 0.0, 1.0) for name in names])
    return {
        "images": _images(stacked, dataset),
        "row_labels": names,
        "columns": len(indices),
        "labels": dataset.y_test[indices].tolist(),
        "mse": errors,
    }


def activations(model: Autoencoder, dataset: Dataset, bins: int = 40) -> dict[str, dict]:
    """Per-layer numbers over a test batch: histogram, mean, mean per unit and dead units, for
    every layer from the first encoder layer to the output (whose units reproduce the batch, so
    a pixel that never changes in it is not a dead unit)."""
    batch = dataset.x_test[:ACTIVATION_EXAMPLES]
    return {
        name: analysis.activation_summary(
            values, bins=bins, targets=batch if name == "output" else None
        )
        for name, values in analysis.layer_activations(model, batch).items()
    }


def features(model: Autoencoder, dataset: Dataset, units: int = 64) -> dict:
    """The first layer's incoming weights of the first ``units`` units as images, and the
    weights from those units of the last decoder layer into the pixels: for a tied run, the
    same numbers as the decoder sees them."""
    if not is_image_data(dataset):
        raise ValueError(f"{dataset.name} is not image data, so its weights are not pictures")
    shape = dataset.info.image_shape
    available = int(model.input_layer.kernel.shape[1])
    units = max(1, min(units, available))
    encoder = analysis.first_layer_weights(model, units, shape)
    result = {"encoder": encoder, "units": units, "available": available, "decoder": None}
    last_width = _decoder_input_width(model)
    if last_width is not None:
        result["decoder"] = analysis.output_layer_weights(model, min(units, last_width), shape)
    return result


def _decoder_input_width(model: Autoencoder) -> int | None:
    """Units feeding the output layer (the last hidden layer, or the code)."""
    config = model.run_config
    return config.hidden[0] if config.hidden else config.code_size


def latent_codes(model: Autoencoder, dataset: Dataset, method: str = "auto", seed: int = 0) -> dict:
    """Codes of test examples in 2-D (the code itself when 2-D, else PCA or t-SNE)."""
    x = dataset.x_test[:LATENT_EXAMPLES]
    codes = analysis.encode(model, x)
    points, used = analysis.codes_2d(codes, method=method, seed=seed)
    return {
        "points": points,
        "labels": dataset.y_test[: len(x)],
        "method": used,
        "code_size": int(codes.shape[1]),
        "test_examples": len(dataset.x_test),
    }


def interpolation(
    model: Autoencoder, dataset: Dataset, start: int, end: int, steps: int = 10
) -> dict:
    """Decodings of evenly spaced codes from test example ``start`` to test example ``end``."""
    size = len(dataset.x_test)
    for name, index in (("start", start), ("end", end)):
        if not 0 <= index < size:
            raise ValueError(f"{name}={index} is not a test example: use 0 to {size - 1}")
    images = analysis.interpolate(model, dataset.x_test[start], dataset.x_test[end], steps)
    return {
        "images": _images(images, dataset),
        "labels": (int(dataset.y_test[start]), int(dataset.y_test[end])),
    }


def generated(model: Autoencoder, dataset: Dataset, count: int = 60, seed: int = 0) -> dict:
    """The VAE generating: decodings of codes drawn from N(0, I); with a 2-D latent, also the
    decodings over a grid of the plane."""
    result = {"samples": _images(analysis.vae_samples(model, count, seed), dataset), "grid": None}
    if model.run_config.code_size == 2:
        grid = analysis.latent_grid(model, size=15)
        result["grid"] = _images(grid.reshape(-1, grid.shape[-1]), dataset)
    return result


def linear_vs_pca(model: Autoencoder, dataset: Dataset) -> dict:
    """The linear autoencoder against scikit-learn's PCA with as many components: errors and
    principal angles, and for 3-D data the cloud with both planes."""
    from sklearn.decomposition import PCA

    if not model.run_config.is_linear:
        raise ValueError("only an autoencoder with linear activations everywhere compares with PCA")

    k = model.run_config.code_size
    pca = PCA(k).fit(dataset.x_train)
    measured = analysis.subspace_vs_pca(model, dataset.x_train, dataset.x_test, pca=pca)
    result = {**measured, "code_size": k, "cloud": None}
    if dataset.info.input_dim == 3 and k == 2:
        center = analysis.decode(model, np.zeros((1, k)))[0]
        result["cloud"] = {
            "points": dataset.x_test,
            "center": pca.mean_,
            "autoencoder_center": center,
            "autoencoder_basis": analysis.decoder_subspace(model),
            "pca_basis": pca.components_,
        }
    if is_image_data(dataset):
        indices = example_indices(dataset, 10)
        x = dataset.x_test[indices]
        rows = [x, pca.inverse_transform(pca.transform(x)), analysis.reconstruct(model, x)]
        result["images"] = _images(np.clip(np.concatenate(rows), 0.0, 1.0), dataset)
        result["row_labels"] = ["input", f"PCA, {k} components", f"autoencoder, {k} units"]
    return result


def comparison_numbers(model: Autoencoder, dataset: Dataset, seed: int = 0) -> dict:
    """What the Compare view tabulates for one run, beyond its stored summary: how sparse its
    code is and how linearly separable the labels are from it (a logistic-regression probe)."""
    code = analysis.encode(model, dataset.x_test[:ACTIVATION_EXAMPLES])
    numbers = {
        "code_near_zero": analysis.share_near_zero(code),
        "probe_accuracy": math.nan,
    }
    if len(np.unique(dataset.y_train)) > 1:
        x_train = dataset.x_train[:PROBE_TRAIN_EXAMPLES]
        numbers["probe_accuracy"] = analysis.linear_probe(
            analysis.encode(model, x_train),
            dataset.y_train[: len(x_train)],
            analysis.encode(model, dataset.x_test),
            dataset.y_test,
            seed=seed,
        )
    return numbers


def same_digits(model: Autoencoder, dataset: Dataset, count: int = 10) -> dict:
    """The standard test examples (``example_indices``) and their reconstructions, as images:
    every run on the same dataset is shown the same digits."""
    x = dataset.x_test[example_indices(dataset, count)]
    return {
        "inputs": _images(x, dataset),
        "reconstructions": _images(np.clip(analysis.reconstruct(model, x), 0.0, 1.0), dataset),
    }


def sweep_member(
    model: Autoencoder, dataset: Dataset, count: int = 10, samples: int = 0, seed: int = 0
) -> dict:
    """What a sweep shows of one of its runs: its reconstructions of the standard test examples
    (``example_indices``: the same digits for every run on the dataset) with their mean squared
    error, and with ``samples``, decodings of that many codes drawn from N(0, I) with ``seed``
    (the same draws for every run of the same code size)."""
    if not is_image_data(dataset):
        raise ValueError(f"{dataset.name} is not image data, so there are no digits to show")
    indices = example_indices(dataset, count)
    x = dataset.x_test[indices]
    reconstructed = np.asarray(analysis.reconstruct(model, x), dtype=np.float32)
    result = {
        "inputs": _images(x, dataset),
        "reconstructions": _images(np.clip(reconstructed, 0.0, 1.0), dataset),
        "labels": dataset.y_test[indices].tolist(),
        "mse": float(np.mean((reconstructed - x) ** 2)),
        "samples": None,
    }
    if samples:
        made = analysis.vae_samples(model, samples, seed)
        result["samples"] = _images(np.clip(made, 0.0, 1.0), dataset)
    return result


def digit_and_reconstruction(model: Autoencoder, dataset: Dataset, index: int) -> dict:
    """Test example ``index`` (a point clicked on the latent plot) and its reconstruction."""
    size = len(dataset.x_test)
    if not 0 <= index < size:
        raise ValueError(f"digit {index} is not a test example: use 0 to {size - 1}")
    x = dataset.x_test[index : index + 1]
    return {
        "input": _images(x, dataset)[0],
        "reconstruction": _images(np.clip(analysis.reconstruct(model, x), 0.0, 1.0), dataset)[0],
        "label": int(dataset.y_test[index]),
    }


def decoded_code(model: Autoencoder, dataset: Dataset, code: tuple[float, ...]) -> np.ndarray:
    """The decoding of one point of the code space (a place clicked on the latent plane)."""
    size = model.run_config.code_size
    if len(code) != size:
        raise ValueError(f"a code of this run has {size} numbers, not {len(code)}")
    decoded = analysis.decode(model, np.asarray([code], dtype=np.float32))
    return _images(np.clip(decoded, 0.0, 1.0), dataset)[0]


def drawn_digit(model: Autoencoder, dataset: Dataset, image: np.ndarray, seed: int = 0) -> dict:
    """A drawn digit (an image shaped like the dataset's, values in [0, 1]) through the run:
    its ``reconstruction`` (for a run trained with input noise, its denoised version), its
    ``code`` (a VAE's mean), and where that code lands among the test digits' codes: ``point``
    beside ``points``, in the latent view's 2-D frame (the code itself when 2-D, else the PCA
    of the test digits' codes)."""
    if not is_image_data(dataset) or np.shape(image) != dataset.info.image_shape:
        raise ValueError(
            f"a drawing for this run is an image of {dataset.info.image_shape}, "
            f"not of shape {np.shape(image)}"
        )
    x = np.asarray(image, dtype=np.float32).reshape(1, -1)
    code = analysis.encode(model, x)
    test_codes = analysis.encode(model, dataset.x_test[:LATENT_EXAMPLES])
    points, method = analysis.codes_2d(test_codes, seed=seed)
    if method == "code":
        point = analysis.codes_2d(code)[0][0]
    else:  # the test digits' PCA frame (``codes_2d``'s), the drawn code projected into it
        from sklearn.decomposition import PCA

        point = PCA(2, random_state=seed).fit(test_codes).transform(code)[0]
    reconstruction = np.clip(analysis.reconstruct(model, x), 0.0, 1.0)
    return {
        "input": _images(x, dataset)[0],
        "reconstruction": _images(reconstruction, dataset)[0],
        "code": code[0],
        "point": np.asarray(point, dtype=np.float32),
        "points": points,
        "labels": dataset.y_test[: len(points)],
        "method": method,
        "denoises": model.run_config.noise != "none",
    }
