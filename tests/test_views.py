"""Tests for ae_core.views: what each of the app's views computes from a model and its dataset.

Every number a view returns is checked against the same number computed here from
``ae_core.analysis`` (or plain NumPy), on tiny models: digits (8x8) for the image views, toy3d for
the linear autoencoder against PCA.
"""

from __future__ import annotations

import numpy as np
import pytest

from ae_core import analysis, views
from ae_core.config import make_config

TEST_EXAMPLES = 297  # digits: 1,500 train and 297 test vectors


@pytest.fixture(scope="module")
def stacked(train_tiny):
    """Stacked 64-32-8-32-64 (ReLU, sigmoid output) on digits, 600 steps."""
    return train_tiny("stacked").model


@pytest.fixture(scope="module")
def denoising_run(train_tiny):
    """The denoising variant's defaults (gaussian noise 0.4) on the tiny digits network."""
    return train_tiny("denoising")


@pytest.fixture(scope="module")
def vae(train_tiny):
    """A VAE with a 2-D latent: its codes are drawn as they are, and it has a latent grid."""
    return train_tiny("vae", code_size=2).model


@pytest.fixture(scope="module")
def linear_run(train_config):
    return train_config(make_config("linear"))  # toy3d, 2 code units, 1,500 steps


def clean_examples(dataset, count: int = 10) -> np.ndarray:
    return dataset.x_test[views.example_indices(dataset, count)]


# --- which test examples the views show -----------------------------------------------------------


def test_example_indices_show_each_label_once_in_order_then_the_rest(digits):
    indices = views.example_indices(digits, 25)
    assert len(indices) == 25 and len(set(indices.tolist())) == 25
    assert indices.min() >= 0 and indices.max() < TEST_EXAMPLES
    assert digits.y_test[indices[:10]].tolist() == list(range(10))
    # The same digits for every call (every run on this dataset shows the same ones) ...
    np.testing.assert_array_equal(views.example_indices(digits, 25), indices)
    # ... and a shorter row is the start of a longer one.
    np.testing.assert_array_equal(views.example_indices(digits, 4), indices[:4])
    assert digits.y_test[views.example_indices(digits, 4)].tolist() == [0, 1, 2, 3]


def test_example_indices_depend_on_the_seed_but_still_start_zero_to_nine(digits):
    first, other = views.example_indices(digits, 10), views.example_indices(digits, 10, seed=1)
    assert digits.y_test[other].tolist() == list(range(10))
    assert not np.array_equal(first, other)


def test_example_indices_clip_the_count_to_the_test_split(digits, toy3d):
    assert len(views.example_indices(digits, 0)) == 1
    everything = views.example_indices(digits, 10_000)
    np.testing.assert_array_equal(np.sort(everything), np.arange(TEST_EXAMPLES))
    # toy3d has one label (0) only: the first pick is one example, then the rest in order.
    points = views.example_indices(toy3d, 30)
    assert len(set(points.tolist())) == 30 and points.max() < len(toy3d.x_test)


# --- input corruption -----------------------------------------------------------------------------


def test_gaussian_noise_of_level_zero_returns_the_input(digits):
    config = make_config("denoising", dataset="digits", noise="gaussian", noise_level=0.4)
    x = digits.x_test[:50]
    np.testing.assert_array_equal(views.noisy_inputs(config, x, 0.0), x)


def test_gaussian_noise_has_the_level_as_its_standard_deviation(digits):
    config = make_config("denoising", dataset="digits", noise="gaussian", noise_level=0.4)
    x = digits.x_test
    noisy = views.noisy_inputs(config, x, 0.5, seed=3)
    assert noisy.shape == x.shape and noisy.dtype == np.float32
    difference = noisy - x
    assert abs(difference.std() - 0.5) < 0.01 and abs(difference.mean()) < 0.01
    np.testing.assert_array_equal(views.noisy_inputs(config, x, 0.5, seed=3), noisy)
    assert not np.allclose(views.noisy_inputs(config, x, 0.5, seed=4), noisy)


def test_dropout_zeroes_about_the_level_and_scales_the_rest():
    config = make_config("denoising", dataset="digits", noise="dropout", noise_level=0.3)
    x = np.full((1000, 64), 0.6, dtype=np.float32)
    noisy = views.noisy_inputs(config, x, 0.3, seed=1)
    dropped = noisy == 0.0
    assert abs(dropped.mean() - 0.3) < 0.01  # 64,000 pixels: the share's sd is 0.002
    np.testing.assert_allclose(noisy[~dropped], 0.6 / 0.7, rtol=1e-6)
    assert noisy.mean() == pytest.approx(0.6, abs=0.01)  # unbiased, like keras Dropout
    np.testing.assert_array_equal(views.noisy_inputs(config, x, 0.0), x)


@pytest.mark.parametrize("level", [1.0, 1.5, -0.1])
def test_a_dropout_level_outside_zero_to_one_is_refused(level):
    config = make_config("denoising", dataset="digits", noise="dropout", noise_level=0.3)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        views.noisy_inputs(config, np.ones((2, 64), dtype=np.float32), level)


def test_no_noise_leaves_the_input_alone(digits):
    config = make_config("stacked", dataset="digits")
    x = digits.x_test[:5]
    np.testing.assert_array_equal(views.noisy_inputs(config, x, 0.9), x)


# --- reconstructions ------------------------------------------------------------------------------


def test_reconstructions_of_a_plain_run(stacked, digits):
    result = views.reconstructions(stacked, digits, count=12)
    indices = views.example_indices(digits, 12)
    clean = digits.x_test[indices]
    rebuilt = analysis.reconstruct(stacked, clean)
    assert result["row_labels"] == ["input", "reconstruction"]
    assert result["columns"] == 12 and result["images"].shape == (24, 8, 8)
    assert result["labels"] == digits.y_test[indices].tolist()
    assert result["labels"][:10] == list(range(10))
    np.testing.assert_array_equal(result["images"][:12].reshape(12, 64), clean)
    np.testing.assert_allclose(result["images"][12:].reshape(12, 64), rebuilt, atol=1e-6)
    assert list(result["mse"]) == ["reconstruction"]
    assert result["mse"]["reconstruction"] == pytest.approx(np.mean((rebuilt - clean) ** 2))
    assert 0 < result["mse"]["reconstruction"] < 0.05  # the mean digit scores about 0.1


def test_reconstructions_of_a_denoising_run(denoising_run, digits):
    model, config = denoising_run.model, denoising_run.config
    assert (config.noise, config.noise_level) == ("gaussian", 0.4)
    result = views.reconstructions(model, digits, count=10)
    assert result["row_labels"] == ["clean", "noisy (gaussian 0.4)", "denoised"]
    assert result["images"].shape == (30, 8, 8) and result["columns"] == 10

    clean = clean_examples(digits)
    noisy = views.noisy_inputs(config, clean, 0.4, seed=0)
    denoised = analysis.reconstruct(model, noisy)
    errors = result["mse"]
    assert list(errors) == ["noisy (gaussian 0.4)", "denoised"]
    # Measured as they are (noisy pixels leave [0, 1]), shown clipped.
    assert errors["noisy (gaussian 0.4)"] == pytest.approx(np.mean((noisy - clean) ** 2))
    assert errors["noisy (gaussian 0.4)"] == pytest.approx(0.16, rel=0.1)
    assert errors["denoised"] == pytest.approx(np.mean((denoised - clean) ** 2), rel=1e-5)
    assert errors["denoised"] < 0.5 * errors["noisy (gaussian 0.4)"]
    assert noisy.min() < 0 and noisy.max() > 1
    np.testing.assert_array_equal(result["images"][10:20].reshape(10, 64), np.clip(noisy, 0, 1))
    assert result["images"].min() >= 0 and result["images"].max() <= 1


def test_reconstructions_try_other_noise_levels_on_the_trained_model(denoising_run, digits):
    model = denoising_run.model
    silent = views.reconstructions(model, digits, noise_level=0.0)
    assert silent["row_labels"][1] == "noisy (gaussian 0)"
    assert silent["mse"]["noisy (gaussian 0)"] == 0.0
    clean = clean_examples(digits)
    plain = float(np.mean((analysis.reconstruct(model, clean) - clean) ** 2))
    assert silent["mse"]["denoised"] == pytest.approx(plain, rel=1e-5)

    loud = views.reconstructions(model, digits, noise_level=0.8)
    assert loud["mse"]["noisy (gaussian 0.8)"] == pytest.approx(0.64, rel=0.1)
    assert loud["mse"]["denoised"] > silent["mse"]["denoised"]


def test_reconstructions_with_dropout_noise(build_untrained, digits):
    model, config = build_untrained("denoising", noise="dropout", noise_level=0.3)
    result = views.reconstructions(model, digits, count=6)
    assert result["row_labels"] == ["clean", "noisy (dropout 0.3)", "denoised"]
    clean = clean_examples(digits, 6)
    noisy = views.noisy_inputs(config, clean, 0.3)
    assert result["mse"]["noisy (dropout 0.3)"] == pytest.approx(np.mean((noisy - clean) ** 2))
    with pytest.raises(ValueError, match="dropout"):
        views.reconstructions(model, digits, noise_level=1.0)


# --- activations ----------------------------------------------------------------------------------


def test_activations_give_one_entry_per_layer_with_its_figures(stacked, digits):
    layers = views.activations(stacked, digits, bins=20)
    assert list(layers) == ["encoder 1", "code", "decoder 1", "output"]
    assert [layer["units"] for layer in layers.values()] == [32, 8, 32, 64]
    expected = analysis.layer_activations(stacked, digits.x_test[: views.ACTIVATION_EXAMPLES])
    for name, layer in layers.items():
        values = expected[name]
        np.testing.assert_allclose(layer["unit_means"], values.mean(axis=0), atol=1e-6)
        assert layer["mean"] == pytest.approx(values.mean(), abs=1e-6)
        assert len(layer["histogram_counts"]) == 20 and len(layer["histogram_edges"]) == 21
        assert layer["histogram_counts"].sum() == values.size == TEST_EXAMPLES * layer["units"]
        mask = layer["dead_mask"]
        assert mask.dtype == bool and mask.shape == (layer["units"],)
        assert int(mask.sum()) == layer["dead_units"]


def test_dead_units_are_marked_where_they_are(build_untrained, digits):
    model, _ = build_untrained("stacked")
    first = model.encoder_layers[0]
    # Units 0, 3 and 5 of the first layer can never fire: no weights in, a negative bias.
    kernel, bias = first.kernel.numpy(), first.bias.numpy()
    kernel[:, [0, 3, 5]] = 0.0
    bias[[0, 3, 5]] = -1.0
    first.kernel.assign(kernel)
    first.bias.assign(bias)
    layer = views.activations(model, digits)["encoder 1"]
    assert layer["dead_mask"][[0, 3, 5]].all()
    assert layer["dead_units"] == int(layer["dead_mask"].sum()) >= 3
    assert layer["unit_means"][[0, 3, 5]].tolist() == [0.0, 0.0, 0.0]


def test_the_output_layer_does_not_count_always_dark_pixels_as_dead(build_untrained, digits):
    model, _ = build_untrained("stacked")
    batch = digits.x_test[: views.ACTIVATION_EXAMPLES]
    dark = np.flatnonzero(batch.max(axis=0) == 0)  # 0 in every test digit
    varying = np.flatnonzero(batch.max(axis=0) > batch.min(axis=0))
    assert len(dark) >= 3 and len(dark) + len(varying) == 64
    # The model has learned the dark pixels: no weights in, a bias that makes them 0. And one
    # pixel that varies gets no weights in either: that unit is dead.
    last = model.decoder_layers[-1]
    kernel, bias = last.kernel.numpy(), last.bias.numpy()
    kernel[:, dark], bias[dark] = 0.0, -40.0
    kernel[:, varying[0]], bias[varying[0]] = 0.0, 0.0
    last.kernel.assign(kernel)
    last.bias.assign(bias)
    layer = views.activations(model, digits)["output"]
    assert layer["unit_means"][dark].max() < 1e-12, "the dark pixels are drawn dark"
    assert layer["unit_means"][varying[0]] == pytest.approx(0.5)
    assert layer["dead_units"] == 1 and np.flatnonzero(layer["dead_mask"]).tolist() == [varying[0]]
    assert layer["constant_targets"] == len(dark) and layer["units"] == 64


def test_activations_of_a_linear_model_without_hidden_layers(linear_run, toy3d):
    layers = views.activations(linear_run.model, toy3d)
    assert list(layers) == ["code", "output"]
    assert [layer["units"] for layer in layers.values()] == [2, 3]
    assert [layer["dead_units"] for layer in layers.values()] == [0, 0]


# --- features -------------------------------------------------------------------------------------


def test_features_are_the_first_layer_weights_as_images(stacked, digits):
    result = views.features(stacked, digits, units=16)
    assert (result["units"], result["available"]) == (16, 32)
    kernel = stacked.encoder_layers[0].kernel.numpy()  # (64 pixels, 32 units)
    assert result["encoder"].shape == (16, 8, 8)
    np.testing.assert_array_equal(result["encoder"].reshape(16, 64), kernel[:, :16].T)
    output_kernel = stacked.decoder_layers[-1].kernel.numpy()  # (32 units, 64 pixels)
    assert result["decoder"].shape == (16, 8, 8)
    np.testing.assert_array_equal(result["decoder"].reshape(16, 64), output_kernel[:16])
    assert not np.allclose(result["decoder"], result["encoder"]), "not tied: other weights"


@pytest.mark.parametrize(("asked", "shown"), [(500, 32), (0, 1), (32, 32)])
def test_features_clip_the_units_to_the_layer_width(stacked, digits, asked, shown):
    result = views.features(stacked, digits, units=asked)
    assert result["units"] == shown
    assert result["encoder"].shape == result["decoder"].shape == (shown, 8, 8)


def test_features_of_a_tied_run_show_the_same_numbers_twice(build_untrained, digits):
    model, config = build_untrained("tied")
    assert config.tied
    result = views.features(model, digits, units=20)
    assert result["decoder"].shape == (20, 8, 8)
    np.testing.assert_array_equal(result["decoder"], result["encoder"])
    np.testing.assert_array_equal(
        result["encoder"].reshape(20, 64), model.encoder_layers[0].kernel.numpy()[:, :20].T
    )


def test_features_of_a_single_layer_model_and_of_points(build_untrained, digits, toy3d):
    model, _ = build_untrained("sparse_kl", hidden=(), code_size=16)
    result = views.features(model, digits, units=64)
    assert (result["units"], result["available"]) == (16, 16)
    assert result["decoder"].shape == (16, 8, 8)
    points_model, _ = build_untrained("linear", dataset="toy3d", hidden=(), code_size=2)
    with pytest.raises(ValueError, match="not image data"):
        views.features(points_model, toy3d)


# --- latent space ---------------------------------------------------------------------------------


def test_a_2d_code_is_drawn_as_it_is(vae, digits):
    codes = views.latent_codes(vae, digits)
    assert codes["method"] == "code" and codes["code_size"] == 2
    assert codes["test_examples"] == TEST_EXAMPLES
    np.testing.assert_allclose(codes["points"], analysis.encode(vae, digits.x_test), atol=1e-6)
    np.testing.assert_array_equal(codes["labels"], digits.y_test)
    assert views.latent_codes(vae, digits, method="pca")["method"] == "PCA"


def test_a_wider_code_is_drawn_by_its_two_principal_components(stacked, digits):
    codes = views.latent_codes(stacked, digits)
    assert codes["method"] == "PCA" and codes["code_size"] == 8
    points = codes["points"]
    assert points.shape == (TEST_EXAMPLES, 2)
    # The two axes carry the two largest variances of the codes, uncorrelated.
    code = analysis.encode(stacked, digits.x_test)
    top = np.sort(np.linalg.eigvalsh(np.cov(code.T)))[::-1][:2]
    np.testing.assert_allclose(np.var(points, axis=0, ddof=1), top, rtol=1e-3)
    assert abs(np.corrcoef(points.T)[0, 1]) < 1e-3


def test_interpolation_runs_from_one_reconstruction_to_the_other(stacked, digits):
    walk = views.interpolation(stacked, digits, start=3, end=40, steps=7)
    assert walk["images"].shape == (7, 8, 8)
    assert walk["labels"] == (int(digits.y_test[3]), int(digits.y_test[40]))
    ends = analysis.reconstruct(stacked, digits.x_test[[3, 40]])
    np.testing.assert_allclose(walk["images"][0].reshape(64), ends[0], atol=1e-5)
    np.testing.assert_allclose(walk["images"][-1].reshape(64), ends[1], atol=1e-5)
    middle = walk["images"][3].reshape(64)
    assert np.abs(middle - ends[0]).max() > 1e-3 and np.abs(middle - ends[1]).max() > 1e-3


@pytest.mark.parametrize(("start", "end"), [(-1, 0), (0, TEST_EXAMPLES), (10_000, 1)])
def test_interpolation_names_the_allowed_range_for_a_bad_index(stacked, digits, start, end):
    with pytest.raises(ValueError, match=f"0 to {TEST_EXAMPLES - 1}"):
        views.interpolation(stacked, digits, start=start, end=end)


def test_a_vae_with_a_2d_latent_generates_samples_and_the_plane(vae, digits):
    made = views.generated(vae, digits, count=24, seed=5)
    samples = made["samples"]
    assert samples.shape == (24, 8, 8) and 0 <= samples.min() and samples.max() <= 1
    np.testing.assert_array_equal(
        views.generated(vae, digits, count=24, seed=5)["samples"], samples
    )
    assert not np.allclose(views.generated(vae, digits, count=24, seed=6)["samples"], samples)
    grid = made["grid"]
    assert grid.shape == (225, 8, 8)
    # Rows of 15 from the top (y = 2.5) down, each from x = -2.5 to 2.5.
    corners = analysis.decode(vae, np.array([[-2.5, 2.5], [2.5, 2.5], [-2.5, -2.5]]))
    np.testing.assert_allclose(grid[[0, 14, 210]].reshape(3, 64), corners, atol=1e-6)


def test_a_vae_with_a_wider_latent_has_no_plane(build_untrained, digits):
    model, _ = build_untrained("vae", code_size=8)
    made = views.generated(model, digits, count=5)
    assert made["samples"].shape == (5, 8, 8) and made["grid"] is None


# --- linear autoencoder against PCA ---------------------------------------------------------------


def test_a_trained_linear_autoencoder_finds_the_pca_plane(linear_run, toy3d):
    from sklearn.decomposition import PCA

    result = views.linear_vs_pca(linear_run.model, toy3d)
    assert result["code_size"] == 2
    # Measured: about 0.35 degrees after 1,500 steps (an untrained one is tens of degrees off).
    assert result["max_principal_angle_deg"] < 5.0
    assert len(result["principal_angles_deg"]) == 2
    assert result["principal_angles_deg"][-1] == pytest.approx(result["max_principal_angle_deg"])
    # PCA's error is the smallest any 2-D affine map reaches; the autoencoder comes close.
    assert 0.999 < result["pca_mse_ratio"] < 1.05
    assert result["pca_mse_ratio"] == pytest.approx(result["autoencoder_mse"] / result["pca_mse"])

    cloud = result["cloud"]
    pca = PCA(2).fit(toy3d.x_train)
    np.testing.assert_array_equal(cloud["points"], toy3d.x_test)
    np.testing.assert_allclose(cloud["center"], toy3d.x_train.mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(np.abs(cloud["pca_basis"]), np.abs(pca.components_), atol=1e-6)
    basis = cloud["autoencoder_basis"]
    assert basis.shape == (2, 3)
    # The decoder's directions lie in the PCA plane: almost nothing off it.
    off_plane = basis - (basis @ pca.components_.T) @ pca.components_
    assert np.linalg.norm(off_plane) < 0.1 * np.linalg.norm(basis)
    # Its centre (the decoding of the zero code) lies near the plane too.
    normal = np.cross(*pca.components_)
    assert abs((cloud["autoencoder_center"] - pca.mean_) @ normal) < 0.05
    assert result.get("images") is None


def test_linear_vs_pca_on_images_adds_the_same_digits(build_untrained, digits):
    model, _ = build_untrained("linear", dataset="digits", hidden=(), code_size=4)
    result = views.linear_vs_pca(model, digits)
    assert result["cloud"] is None and result["code_size"] == 4
    assert result["images"].shape == (30, 8, 8)
    assert result["row_labels"] == ["input", "PCA, 4 components", "autoencoder, 4 units"]
    np.testing.assert_array_equal(result["images"][:10].reshape(10, 64), clean_examples(digits))
    # Untrained: far from PCA, which the trained test above must therefore beat.
    assert result["max_principal_angle_deg"] > 20


def test_linear_vs_pca_refuses_a_model_with_non_linear_units(stacked, digits):
    with pytest.raises(ValueError, match="linear"):
        views.linear_vs_pca(stacked, digits)


# --- comparison -----------------------------------------------------------------------------------


def test_comparison_numbers_of_a_trained_model(stacked, digits):
    result = views.comparison_numbers(stacked, digits)
    code = analysis.encode(stacked, digits.x_test[: views.ACTIVATION_EXAMPLES])
    assert result["code_near_zero"] == pytest.approx(np.mean(np.abs(code) < analysis.NEAR_ZERO))
    assert 0 < result["code_near_zero"] < 1
    # Ten classes: chance is 0.1; measured about 0.87 from an 8-unit code.
    assert result["probe_accuracy"] > 0.6
    assert views.comparison_numbers(stacked, digits)["probe_accuracy"] == result["probe_accuracy"]


def test_the_comparison_counts_near_zero_codes_by_the_analysis_threshold(
    stacked, digits, monkeypatch
):
    # One threshold for the stored summary and the Compare view: moving it moves both.
    code = analysis.encode(stacked, digits.x_test[: views.ACTIVATION_EXAMPLES])
    monkeypatch.setattr(analysis, "NEAR_ZERO", 0.5)
    wider = views.comparison_numbers(stacked, digits)["code_near_zero"]
    assert wider == pytest.approx(np.mean(np.abs(code) < 0.5))
    assert wider == analysis.share_near_zero(code) > np.mean(np.abs(code) < 0.1)


def test_comparison_numbers_without_labels_have_no_probe(linear_run, toy3d):
    result = views.comparison_numbers(linear_run.model, toy3d)
    assert np.isnan(result["probe_accuracy"])
    assert 0 <= result["code_near_zero"] <= 1


def test_same_digits_are_the_standard_examples_and_their_reconstructions(stacked, vae, digits):
    first = views.same_digits(stacked, digits, count=10)
    clean = clean_examples(digits)
    assert first["inputs"].shape == first["reconstructions"].shape == (10, 8, 8)
    np.testing.assert_array_equal(first["inputs"].reshape(10, 64), clean)
    np.testing.assert_allclose(
        first["reconstructions"].reshape(10, 64),
        np.clip(analysis.reconstruct(stacked, clean), 0, 1),
        atol=1e-6,
    )
    # Another run on the same dataset is shown the very same digits.
    second = views.same_digits(vae, digits, count=10)
    np.testing.assert_array_equal(second["inputs"], first["inputs"])
    assert views.same_digits(stacked, digits, count=3)["inputs"].shape == (3, 8, 8)


def test_a_sweep_member_shows_the_standard_digits_and_the_same_random_codes(
    stacked, vae, train_tiny, digits, toy3d, linear_run
):
    shown = views.sweep_member(stacked, digits, count=10)
    clean = clean_examples(digits)
    np.testing.assert_array_equal(shown["inputs"].reshape(10, 64), clean)
    reconstructed = analysis.reconstruct(stacked, clean)
    np.testing.assert_allclose(
        shown["reconstructions"].reshape(10, 64), np.clip(reconstructed, 0, 1), atol=1e-6
    )
    assert shown["mse"] == pytest.approx(float(np.mean((reconstructed - clean) ** 2)), rel=1e-5)
    assert shown["labels"] == list(range(10))
    assert shown["samples"] is None, "no generated digits unless asked"

    # Two VAEs of the same code size decode the same draws: their samples differ only by model.
    other = train_tiny("vae", code_size=2, seed=1).model
    first = views.sweep_member(vae, digits, count=4, samples=6)
    second = views.sweep_member(other, digits, count=4, samples=6)
    np.testing.assert_array_equal(first["inputs"], second["inputs"])
    codes = np.random.default_rng(0).standard_normal((6, 2)).astype(np.float32)
    for model, made in ((vae, first), (other, second)):
        assert made["samples"].shape == (6, 8, 8)
        np.testing.assert_allclose(
            made["samples"].reshape(6, 64), np.clip(analysis.decode(model, codes), 0, 1), atol=1e-6
        )
    with pytest.raises(ValueError, match="not image data"):
        views.sweep_member(linear_run.model, toy3d)


# --- a click on the latent plot, and a drawn digit ------------------------------------------------


def test_a_clicked_test_digit_is_shown_over_its_reconstruction(stacked, digits):
    shown = views.digit_and_reconstruction(stacked, digits, index=7)
    x = digits.x_test[7:8]
    np.testing.assert_array_equal(shown["input"], x.reshape(8, 8))
    np.testing.assert_allclose(
        shown["reconstruction"], np.clip(analysis.reconstruct(stacked, x), 0, 1).reshape(8, 8)
    )
    assert shown["label"] == int(digits.y_test[7])
    with pytest.raises(ValueError, match=f"use 0 to {TEST_EXAMPLES - 1}"):
        views.digit_and_reconstruction(stacked, digits, index=TEST_EXAMPLES)


def test_a_clicked_place_on_the_plane_is_decoded(vae, digits):
    image = views.decoded_code(vae, digits, code=(0.5, -1.0))
    decoded = analysis.decode(vae, np.array([[0.5, -1.0]], dtype=np.float32))
    np.testing.assert_allclose(image, np.clip(decoded, 0, 1).reshape(8, 8))
    with pytest.raises(ValueError, match="has 2 numbers, not 3"):
        views.decoded_code(vae, digits, code=(0.5, -1.0, 2.0))


@pytest.mark.parametrize(("model_name", "method"), [("stacked", "PCA"), ("vae", "code")])
def test_a_drawn_test_digit_lands_on_its_own_point_of_the_latent_plot(
    request, digits, model_name, method
):
    model = request.getfixturevalue(model_name)
    drawn = views.drawn_digit(model, digits, digits.x_test[5].reshape(8, 8))
    latent = views.latent_codes(model, digits)
    assert drawn["method"] == latent["method"] == method
    np.testing.assert_allclose(drawn["points"], latent["points"], atol=1e-5)
    np.testing.assert_allclose(drawn["point"], latent["points"][5], atol=1e-4)
    np.testing.assert_allclose(drawn["code"], analysis.encode(model, digits.x_test[5:6])[0])
    clicked = views.digit_and_reconstruction(model, digits, 5)
    np.testing.assert_allclose(drawn["reconstruction"], clicked["reconstruction"], atol=1e-6)
    assert drawn["denoises"] is False
    with pytest.raises(ValueError, match=r"an image of \(8, 8\), not of shape \(28, 28\)"):
        views.drawn_digit(model, digits, np.zeros((28, 28)))


def test_a_stroke_drawn_on_a_canvas_goes_through_a_denoising_mnist_run(train_config):
    from ae_core import drawing
    from ae_core.data import load_dataset

    config = make_config(
        "denoising", dataset="mnist", hidden=(16,), code_size=2, steps=60, learning_rate=5e-3
    )
    model, mnist = train_config(config).model, load_dataset("mnist")
    canvas = np.full((280, 280, 4), 255, dtype=np.uint8)
    canvas[40:240, 120:150, :3] = 0  # a "1"
    digit = drawing.mnist_like(drawing.canvas_ink(canvas))
    drawn = views.drawn_digit(model, mnist, digit)
    np.testing.assert_array_equal(drawn["input"], digit)
    assert drawn["reconstruction"].shape == (28, 28)
    assert 0.0 <= drawn["reconstruction"].min() and drawn["reconstruction"].max() <= 1.0
    np.testing.assert_allclose(
        drawn["reconstruction"],
        np.clip(analysis.reconstruct(model, digit.reshape(1, 784)), 0, 1).reshape(28, 28),
    )
    assert drawn["method"] == "code" and drawn["denoises"] is True
    np.testing.assert_allclose(drawn["point"], drawn["code"])  # a 2-D code is its own point
    assert len(drawn["points"]) == len(drawn["labels"]) == views.LATENT_EXAMPLES
