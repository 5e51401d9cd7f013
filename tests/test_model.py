"""How models start (initialisers, biases) and the training-time input noise."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from ae_core import analysis
from ae_core.model import add_training_noise


def test_truncated_normal_starts_kernels_at_std_point_one_cut_at_two_deviations(build_untrained):
    model, _ = build_untrained("stacked", hidden=(300,), code_size=30, init="truncated_normal")
    # Every layer alike, whatever its width (Glorot and He shrink the spread of wide layers).
    for kernel in model.own_kernels:
        values = kernel.numpy().ravel()
        # A normal of std 0.1 cut at +-0.2 and redrawn has std 0.1 * 0.8796.
        assert np.abs(values).max() <= 0.2
        assert values.std() == pytest.approx(0.1 * 0.8796, rel=0.05)


@pytest.mark.parametrize("variant", ["stacked", "tied", "vae"])
def test_every_bias_starts_at_the_initial_bias(build_untrained, variant):
    model, _ = build_untrained(variant, hidden=(16,), code_size=4, bias_init=0.1)
    layers = [*model.encoder_layers, *model.decoder_layers]
    layers += [
        getattr(model, head) for head in ("mean_head", "log_variance_head") if hasattr(model, head)
    ]
    assert len(layers) == 5 if variant == "vae" else 4
    for layer in layers:  # tied decoder layers own their biases too
        np.testing.assert_allclose(layer.bias.numpy(), 0.1)


def test_clipped_gaussian_noise_stays_in_the_unit_interval():
    x = tf.constant(np.random.default_rng(0).uniform(0, 1, (200, 64)), dtype=tf.float32)
    clipped = add_training_noise(
        "gaussian_clipped", 0.4, x, tf.random.Generator.from_seed(1)
    ).numpy()
    plain = add_training_noise("gaussian", 0.4, x, tf.random.Generator.from_seed(1)).numpy()
    assert clipped.min() == 0.0 and clipped.max() == 1.0
    np.testing.assert_allclose(clipped, np.clip(plain, 0, 1))
    assert (plain < 0).mean() > 0.05  # the plain noise does leave [0, 1]


def test_denoising_errors_measure_the_noise_and_what_is_left(train_tiny, digits):
    run = train_tiny("denoising", noise="gaussian_clipped", noise_level=0.4)
    errors = analysis.denoising_errors(run.model, digits.x_test)
    noisy = add_training_noise(
        "gaussian_clipped", 0.4, tf.constant(digits.x_test), tf.random.Generator.from_seed(0)
    )
    assert errors["noisy_input_mse"] == pytest.approx(np.mean((noisy.numpy() - digits.x_test) ** 2))
    assert errors["denoised_mse"] < 0.6 * errors["noisy_input_mse"]
    summary = analysis.run_summary(run)
    assert summary["denoised_mse"] == pytest.approx(
        analysis.denoising_errors(run.model, digits.x_test[:2000])["denoised_mse"]
    )
