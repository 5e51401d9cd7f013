"""Tests for ae_core.analysis on tiny models: shapes, figures and the comparison with PCA."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from ae_core import analysis
from ae_core.config import make_config

L2_WEIGHT = 1e-4


@pytest.fixture(scope="module")
def stacked_run(train_tiny):
    """Stacked 64-32-8-32-64 on digits, 600 steps, with a little L2 so two terms are reported."""
    return train_tiny("stacked", l2=L2_WEIGHT)


@pytest.fixture(scope="module")
def stacked(stacked_run):
    return stacked_run.model


@pytest.fixture(scope="module")
def sample(digits) -> np.ndarray:
    return digits.x_test[:50]


@pytest.fixture(scope="module")
def linear_run(train_config):
    return train_config(make_config("linear"))  # toy3d, code_size 2, 1,500 steps


@pytest.fixture(scope="module")
def untrained_vae(build_untrained):
    model, _ = build_untrained("vae", code_size=2)
    return model


def images_in_unit_range(array: np.ndarray) -> bool:
    return bool(np.isfinite(array).all() and array.min() >= 0.0 and array.max() <= 1.0)


# --- forward passes -------------------------------------------------------------------------------


def test_reconstruct_encode_decode(stacked, sample):
    reconstruction = analysis.reconstruct(stacked, sample)
    codes = analysis.encode(stacked, sample)
    assert reconstruction.shape == (50, 64) and reconstruction.dtype == np.float32
    assert codes.shape == (50, 8)
    assert images_in_unit_range(reconstruction)  # sigmoid output
    np.testing.assert_allclose(analysis.decode(stacked, codes), reconstruction, atol=1e-6)


def test_trained_model_reconstructs_better_than_the_mean(stacked, digits):
    x = digits.x_test
    baseline = float(np.mean((x - digits.x_train.mean(axis=0)) ** 2))
    assert analysis.reconstruction_mse(stacked, x) < 0.7 * baseline


def test_forward_passes_handle_more_than_one_slice(stacked, digits, monkeypatch):
    x = digits.x_test[:25]
    whole = analysis.reconstruct(stacked, x)
    monkeypatch.setattr(analysis, "_SLICE", 7)  # 25 examples -> slices of 7, 7, 7 and 4
    np.testing.assert_allclose(analysis.reconstruct(stacked, x), whole, atol=1e-6)
    assert analysis.encode(stacked, x).shape == (25, 8)


@pytest.mark.parametrize(
    ("variant", "settings", "names", "widths"),
    [
        (
            "stacked",
            {"hidden": (32,)},
            ["encoder 1", "code", "decoder 1", "output"],
            [32, 8, 32, 64],
        ),
        (
            "stacked",
            {"hidden": (32, 16)},
            ["encoder 1", "encoder 2", "code", "decoder 1", "decoder 2", "output"],
            [32, 16, 8, 16, 32, 64],
        ),
        ("stacked", {"hidden": ()}, ["code", "output"], [8, 64]),
        ("tied", {"hidden": (32,)}, ["encoder 1", "code", "decoder 1", "output"], [32, 8, 32, 64]),
        (
            "vae",
            {"hidden": (32,), "code_size": 2},
            ["encoder 1", "code", "decoder 1", "output"],
            [32, 2, 32, 64],
        ),
    ],
    ids=["stacked", "stacked-deep", "stacked-shallow", "tied", "vae"],
)
def test_layer_activations(build_untrained, sample, variant, settings, names, widths):
    model, _ = build_untrained(variant, **settings)
    layers = analysis.layer_activations(model, sample)
    assert list(layers) == names
    assert [array.shape for array in layers.values()] == [(50, width) for width in widths]
    np.testing.assert_allclose(layers["code"], analysis.encode(model, sample), atol=1e-6)
    np.testing.assert_allclose(layers["output"], analysis.reconstruct(model, sample), atol=1e-6)
    encoders = analysis.encoder_activations(model, sample)
    assert len(encoders) == names.index("code") + 1


# --- unit statistics ------------------------------------------------------------------------------


def test_dead_units_counts_constant_columns():
    rng = np.random.default_rng(0)
    activations = rng.normal(size=(100, 8))
    activations[:, 1] = 0.0  # a dead ReLU
    activations[:, 4] = 3.5  # stuck at a constant that is not zero
    activations[:, 6] = 0.25 + 1e-7 * rng.normal(size=100)  # varies only by rounding noise
    activations[:, 7] = 0.25 + 1e-3 * rng.normal(size=100)  # small but real variation
    assert analysis.dead_units(activations) == 3
    assert analysis.dead_units(rng.normal(size=(10, 5))) == 0
    assert analysis.dead_units(np.zeros((10, 5))) == 5


def test_activation_summary():
    activations = np.zeros((4, 3))
    activations[:, 0] = [0.0, 0.2, 0.4, 0.6]
    activations[:, 2] = 1.0
    summary = analysis.activation_summary(activations, bins=5)
    assert summary["mean"] == pytest.approx((1.2 + 4.0) / 12)
    np.testing.assert_allclose(summary["unit_means"], [0.3, 0.0, 1.0])
    assert summary["histogram_counts"].sum() == 12 and len(summary["histogram_counts"]) == 5
    assert len(summary["histogram_edges"]) == 6
    assert summary["histogram_edges"][0] == 0.0 and summary["histogram_edges"][-1] == 1.0
    assert summary["dead_units"] == 2 and summary["units"] == 3


def test_pixels_dark_in_every_digit_are_not_dead_output_units():
    from ae_core.data import load_dataset
    from ae_core.views import ACTIVATION_EXAMPLES

    digits = load_dataset("mnist").x_test[:ACTIVATION_EXAMPLES]
    dark = digits.max(axis=0) == 0  # the border: 0 in every one of these digits
    assert 20 < dark.sum() < 200 and digits.shape[1] == 784
    # A perfect reconstruction gives those pixels 0 every time: right, not dead.
    output = digits.copy()
    # Two units stuck at one value where the digits vary: dead.
    stuck = np.flatnonzero(~dark)[[0, 300]]
    output[:, stuck] = 0.5
    summary = analysis.activation_summary(output, targets=digits)
    assert summary["dead_units"] == analysis.dead_units(output, digits) == 2
    np.testing.assert_array_equal(np.flatnonzero(summary["dead_mask"]), np.sort(stuck))
    assert summary["constant_targets"] == int(dark.sum())
    # Without targets (a hidden layer) every unit giving one value is dead.
    assert analysis.dead_units(output) == int(dark.sum()) + 2
    assert analysis.activation_summary(output)["constant_targets"] == 0


# --- weights as images ----------------------------------------------------------------------------


def test_first_layer_weights(stacked):
    images = analysis.first_layer_weights(stacked, 10, (8, 8))
    assert images.shape == (10, 8, 8)
    kernel = stacked.encoder_layers[0].kernel.numpy()  # (64 inputs, 32 units)
    np.testing.assert_array_equal(images[3].ravel(), kernel[:, 3])


def test_output_layer_weights_of_an_untied_model(stacked):
    images = analysis.output_layer_weights(stacked, 5, (8, 8))
    kernel = stacked.decoder_layers[-1].kernel.numpy()  # (32 units, 64 outputs)
    assert images.shape == (5, 8, 8)
    np.testing.assert_array_equal(images.reshape(5, 64), kernel[:5])


def test_output_layer_weights_of_a_tied_model_are_the_transposed_first_layer(build_untrained):
    tied, _ = build_untrained("tied", hidden=(32,))
    kernel = tied.encoder_layers[0].kernel.numpy()
    output = analysis.output_layer_weights(tied, 12, (8, 8))
    assert output.shape == (12, 8, 8)
    np.testing.assert_array_equal(output.reshape(12, 64), kernel.T[:12])
    np.testing.assert_array_equal(output, analysis.first_layer_weights(tied, 12, (8, 8)))


# --- 2-D views of codes ---------------------------------------------------------------------------


def test_codes_2d_passes_2d_codes_through():
    codes = np.random.default_rng(1).normal(size=(30, 2))
    points, method = analysis.codes_2d(codes)
    assert method == "code" and points.dtype == np.float32
    np.testing.assert_allclose(points, codes, rtol=1e-6)


def test_codes_2d_uses_pca_for_wider_codes():
    rng = np.random.default_rng(2)
    plane = rng.normal(size=(40, 2)) * [3.0, 1.0]
    basis, _ = np.linalg.qr(rng.normal(size=(5, 2)))  # an orthonormal 2-D plane in 5-D
    codes = plane @ basis.T + 7.0
    points, method = analysis.codes_2d(codes)
    assert method == "PCA" and points.shape == (40, 2)
    # The codes lie in a plane, so its 2-D PCA view keeps every distance between points.
    np.testing.assert_allclose(pdist(points), pdist(codes), rtol=1e-4, atol=1e-4)
    assert points[:, 0].var() > points[:, 1].var()


def test_codes_2d_with_tsne_keeps_clusters_apart():
    rng = np.random.default_rng(3)
    centres = np.array([[0.0] * 6, [20.0] * 6])
    codes = np.concatenate([centre + rng.normal(size=(25, 6)) for centre in centres])
    points, method = analysis.codes_2d(codes, method="tsne")
    assert method == "t-SNE" and points.shape == (50, 2) and np.isfinite(points).all()
    first, second = points[:25], points[25:]
    gap = np.linalg.norm(first.mean(axis=0) - second.mean(axis=0))
    assert gap > 2 * max(first.std(axis=0).max(), second.std(axis=0).max())


# --- decoding new codes ---------------------------------------------------------------------------


def test_interpolate_ends_at_the_two_reconstructions(stacked, sample):
    start, end = sample[0], sample[1]
    path = analysis.interpolate(stacked, start, end, steps=5)
    assert path.shape == (5, 64)
    ends = analysis.reconstruct(stacked, sample[:2])
    np.testing.assert_allclose(path[0], ends[0], atol=1e-5)
    np.testing.assert_allclose(path[-1], ends[1], atol=1e-5)
    codes = analysis.encode(stacked, sample[:2])
    middle = analysis.decode(stacked, codes.mean(axis=0, keepdims=True))[0]
    np.testing.assert_allclose(path[2], middle, atol=1e-5)
    assert not np.allclose(path[0], path[-1], atol=1e-3)


def test_vae_samples(untrained_vae):
    samples = analysis.vae_samples(untrained_vae, 12, seed=4)
    assert samples.shape == (12, 64) and images_in_unit_range(samples)
    np.testing.assert_array_equal(samples, analysis.vae_samples(untrained_vae, 12, seed=4))
    assert not np.allclose(samples, analysis.vae_samples(untrained_vae, 12, seed=5))


def test_latent_grid(untrained_vae):
    grid = analysis.latent_grid(untrained_vae, size=5, span=2.0)
    assert grid.shape == (5, 5, 64) and images_in_unit_range(grid)
    # Rows run from high y (top) to low y; columns from low x to high x.
    corners = analysis.decode(
        untrained_vae, np.array([[-2.0, 2.0], [2.0, 2.0], [-2.0, -2.0], [2.0, -2.0]])
    )
    actual = np.stack([grid[0, 0], grid[0, -1], grid[-1, 0], grid[-1, -1]])
    np.testing.assert_allclose(actual, corners, atol=1e-6)
    np.testing.assert_allclose(grid[2, 2], analysis.decode(untrained_vae, np.zeros((1, 2)))[0])


def test_latent_grid_needs_a_2d_code(stacked):
    with pytest.raises(ValueError, match="code_size=2, not 8"):
        analysis.latent_grid(stacked)


# --- comparisons ----------------------------------------------------------------------------------


def test_linear_autoencoder_finds_the_pca_subspace(linear_run, toy3d):
    figures = analysis.subspace_vs_pca(linear_run.model, toy3d.x_train, toy3d.x_test)
    assert figures["max_principal_angle_deg"] < 5.0
    assert 0.98 < figures["pca_mse_ratio"] < 1.02
    assert figures["pca_mse_ratio"] == pytest.approx(
        figures["autoencoder_mse"] / figures["pca_mse"]
    )
    angles = figures["principal_angles_deg"]
    assert len(angles) == 2 and angles == sorted(angles)
    assert angles[-1] == pytest.approx(figures["max_principal_angle_deg"])


def test_untrained_linear_autoencoder_is_far_from_pca(build_untrained, toy3d):
    # The same measure on random weights must look bad, or the test above proves nothing.
    model, _ = build_untrained("linear", dataset="toy3d", hidden=(), code_size=2)
    figures = analysis.subspace_vs_pca(model, toy3d.x_train, toy3d.x_test)
    assert figures["pca_mse_ratio"] > 1.5


def test_linear_probe_beats_chance_on_codes_and_pixels(stacked, digits):
    accuracies = analysis.probe_codes_vs_pixels(stacked, digits)
    assert set(accuracies) == {"code_accuracy", "pixel_accuracy"}
    assert accuracies["code_accuracy"] > 0.5
    assert accuracies["pixel_accuracy"] > 0.85  # 64 clean pixels separate digits well


# --- the run summary ------------------------------------------------------------------------------


def test_objective_terms_match_the_formulas(stacked, digits):
    terms = analysis.objective_terms(stacked, digits.x_train)
    assert list(terms) == ["reconstruction", "l2"]
    kernels = sum(float(np.sum(kernel.numpy() ** 2)) for kernel in stacked.own_kernels)
    assert terms["l2"] == pytest.approx(L2_WEIGHT * kernels, rel=1e-5)
    x = digits.x_train
    output = np.clip(analysis.reconstruct(stacked, x).astype(np.float64), 1e-7, 1 - 1e-7)
    bce = -np.mean(x * np.log(output) + (1 - x) * np.log(1 - output))
    assert terms["reconstruction"] == pytest.approx(bce, rel=1e-3)


def test_run_summary(stacked_run, digits, summary_keys):
    summary = analysis.run_summary(stacked_run)
    assert summary_keys <= set(summary)
    config = stacked_run.config
    assert summary["run_id"] == config.run_id and summary["run_id"].startswith("stacked-")
    assert (summary["variant"], summary["dataset"], summary["steps"]) == ("stacked", "digits", 600)
    assert summary["status"] == "done" and summary["reason"] is None
    # The data in plain words, for the app (no paths): what the Train page says it trained on.
    assert (
        summary["data_in_words"] == "scikit-learn's 8x8 digits, 1,500 training and 297 test digits"
    )
    assert summary["seconds"] > 0 and summary["samples_per_s"] > 0
    assert set(summary["loss_terms"]) == {"reconstruction", "l2"}
    assert summary["train_loss"] == pytest.approx(sum(summary["loss_terms"].values()))
    assert summary["test_mse"] == pytest.approx(
        analysis.reconstruction_mse(stacked_run.model, digits.x_test)
    )
    assert 0 < summary["test_mse"] < 0.1
    # One figure per encoder layer: the hidden layer and the code.
    assert len(summary["mean_activation"]) == len(summary["dead_units"]) == 2
    assert summary["units"] == [32, 8]
    layers = analysis.encoder_activations(stacked_run.model, digits.x_test)
    assert summary["mean_activation"] == pytest.approx([float(a.mean()) for a in layers], 1e-5)
    assert summary["dead_units"] == [analysis.dead_units(a) for a in layers]
    assert summary["dead_units"][0] < 32  # training kept most hidden units alive
    assert summary["config"] == config.to_dict()
    codes = layers[-1]
    assert summary["code_near_zero"] == pytest.approx(np.mean(np.abs(codes) < 0.1))
    assert (
        summary["parameters"]
        == stacked_run.model.count_params()
        == (64 * 32 + 32 + 32 * 8 + 8 + 8 * 32 + 32 + 32 * 64 + 64)
    )
    assert (summary["train_examples"], summary["test_examples"]) == (1500, 297)
    last_losses = [point.loss for point in stacked_run.history[-10:]]
    assert summary["recent_train_loss"] == pytest.approx(float(np.median(last_losses)))


def test_recent_loss_ignores_a_late_spike():
    history = [SimpleNamespace(loss=value) for value in [1.0] * 20 + [0.1] * 9 + [50.0]]
    assert analysis.recent_loss(history) == pytest.approx(0.1)
    assert analysis.recent_loss([]) is None


def test_run_summary_of_the_linear_variant_adds_the_pca_figures(linear_run):
    summary = analysis.run_summary(linear_run)
    assert summary["variant"] == "linear" and summary["dataset"] == "toy3d"
    assert summary["steps"] == 1500
    assert len(summary["dead_units"]) == 1 and len(summary["mean_activation"]) == 1
    assert summary["max_principal_angle_deg"] < 5.0
    assert summary["pca_mse_ratio"] < 1.02
