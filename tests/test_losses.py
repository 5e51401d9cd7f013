"""Tests for ae_core.losses: each term against a NumPy transcription of its formula."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from ae_core import losses

RNG_SEED = 1234


def as_tensor(array: np.ndarray) -> tf.Tensor:
    return tf.constant(array, dtype=tf.float32)


def value(tensor: tf.Tensor) -> float:
    return float(tensor.numpy())


def kl_reference(target: float, activations: np.ndarray) -> float:
    """sum over units of p log(p/q) + (1-p) log((1-p)/(1-q)), q = the unit's mean over the batch."""
    p, q = target, activations.astype(np.float64).mean(axis=0)
    return float(np.sum(p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))))


def latent_reference(mean: np.ndarray, log_variance: np.ndarray) -> float:
    per_example = 0.5 * np.sum(np.exp(log_variance) + mean**2 - 1 - log_variance, axis=1)
    return float(per_example.mean())


def bce_reference(target: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """-[t log s(z) + (1-t) log(1-s(z))] per value, in float64."""
    probability = 1 / (1 + np.exp(-logits.astype(np.float64)))
    return -(target * np.log(probability) + (1 - target) * np.log(1 - probability))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(RNG_SEED)


# --- KL sparsity ----------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [0.01, 0.05, 0.1, 0.3, 0.5, 0.9])
def test_kl_sparsity_matches_numpy(rng, target):
    # Each unit gets its own range inside (0, 1), so the unit means spread over the interval.
    low = rng.uniform(0.001, 0.5, size=20)
    high = rng.uniform(0.5, 0.999, size=20)
    activations = rng.uniform(low, high, size=(64, 20))
    expected = kl_reference(target, activations)
    assert expected > 0.05  # a real divergence, not a value near 0 that any bug would match
    assert value(losses.kl_sparsity(target, as_tensor(activations))) == pytest.approx(
        expected, rel=1e-4
    )


def test_kl_sparsity_grows_as_the_mean_moves_away(rng):
    base = rng.uniform(0.0, 0.1, size=(32, 10))
    values = [value(losses.kl_sparsity(0.05, as_tensor(base + shift))) for shift in (0, 0.2, 0.5)]
    assert values[0] < values[1] < values[2]


@pytest.mark.parametrize("target", [0.05, 0.1, 0.5])
def test_kl_sparsity_is_zero_when_every_mean_is_the_target(rng, target):
    # Each column is target +/- a spread, so every unit's batch mean is exactly the target.
    spread = rng.uniform(0, target * 0.9, size=(16, 12))
    activations = np.concatenate([target + spread, target - spread])
    np.testing.assert_allclose(activations.mean(axis=0), target, atol=1e-12)
    assert value(losses.kl_sparsity(target, as_tensor(activations))) == pytest.approx(0, abs=1e-5)


def test_kl_sparsity_sums_over_units(rng):
    activations = rng.uniform(0.1, 0.9, size=(40, 6))
    whole = value(losses.kl_sparsity(0.2, as_tensor(activations)))
    parts = sum(value(losses.kl_sparsity(0.2, as_tensor(activations[:, [i]]))) for i in range(6))
    assert whole == pytest.approx(parts, rel=1e-5)


def test_kl_sparsity_stays_finite_for_saturated_units():
    activations = np.array([[0.0, 1.0], [0.0, 1.0]])
    assert np.isfinite(value(losses.kl_sparsity(0.1, as_tensor(activations))))


# --- VAE latent loss ------------------------------------------------------------------------------


def test_vae_latent_loss_matches_numpy(rng):
    mean = rng.normal(0, 1.5, size=(50, 4))
    log_variance = rng.normal(0, 1.0, size=(50, 4))
    expected = latent_reference(mean, log_variance)
    result = value(losses.vae_latent_loss(as_tensor(mean), as_tensor(log_variance)))
    assert result == pytest.approx(expected, rel=1e-5)


def test_vae_latent_loss_is_zero_for_the_prior():
    zeros = np.zeros((8, 3))
    assert value(losses.vae_latent_loss(as_tensor(zeros), as_tensor(zeros))) == 0.0


def test_vae_latent_loss_of_a_known_point():
    # One example, one unit: 0.5 * (e^1 + 2^2 - 1 - 1) = 0.5 * (e + 2).
    result = losses.vae_latent_loss(as_tensor(np.array([[2.0]])), as_tensor(np.array([[1.0]])))
    assert value(result) == pytest.approx(0.5 * (np.e + 2), rel=1e-6)


def test_vae_latent_loss_averages_over_the_batch(rng):
    mean, log_variance = rng.normal(size=(10, 2)), rng.normal(size=(10, 2))
    once = value(losses.vae_latent_loss(as_tensor(mean), as_tensor(log_variance)))
    doubled = losses.vae_latent_loss(
        as_tensor(np.concatenate([mean, mean])), as_tensor(np.concatenate([log_variance] * 2))
    )
    assert value(doubled) == pytest.approx(once, rel=1e-6)


# --- reconstruction losses ------------------------------------------------------------------------


def test_bce_from_logits_matches_numpy(rng):
    target = rng.uniform(0, 1, size=(20, 64))
    logits = rng.normal(0, 3, size=(20, 64))
    expected = bce_reference(target, logits)
    result = value(losses.bce_from_logits(as_tensor(target), as_tensor(logits)))
    assert result == pytest.approx(expected.mean(), rel=1e-5)


def test_bce_per_example_sums_over_pixels(rng):
    target = rng.uniform(0, 1, size=(20, 64))
    logits = rng.normal(0, 3, size=(20, 64))
    expected = bce_reference(target, logits).sum(axis=1).mean()
    result = value(losses.bce_from_logits_per_example(as_tensor(target), as_tensor(logits)))
    assert result == pytest.approx(expected, rel=1e-5)
    mean_bce = value(losses.bce_from_logits(as_tensor(target), as_tensor(logits)))
    assert result == pytest.approx(64 * mean_bce, rel=1e-5)


def test_bce_from_logits_is_stable_for_large_logits():
    target = np.array([[1.0, 0.0]])
    logits = np.array([[200.0, -200.0]])  # confident and right: the loss is ~0, not NaN
    assert value(losses.bce_from_logits(as_tensor(target), as_tensor(logits))) == pytest.approx(
        0, abs=1e-6
    )
    wrong = value(losses.bce_from_logits(as_tensor(target), as_tensor(-logits)))
    assert wrong == pytest.approx(200, rel=1e-5)


def test_mse_matches_numpy(rng):
    target, output = rng.normal(size=(7, 5)), rng.normal(size=(7, 5))
    expected = np.mean((output - target) ** 2)
    assert value(losses.mse(as_tensor(target), as_tensor(output))) == pytest.approx(expected, 1e-5)


# --- penalties ------------------------------------------------------------------------------------


def test_l1_activity_matches_numpy(rng):
    code = rng.normal(size=(32, 10))
    expected = np.abs(code).sum(axis=1).mean()
    assert value(losses.l1_activity(as_tensor(code))) == pytest.approx(expected, rel=1e-5)


def test_l1_activity_does_not_depend_on_the_batch_size(rng):
    code = rng.normal(size=(16, 4))
    once = value(losses.l1_activity(as_tensor(code)))
    assert value(losses.l1_activity(as_tensor(np.tile(code, (3, 1))))) == pytest.approx(once)


def test_l1_activity_of_a_known_code():
    code = np.array([[1.0, -2.0, 0.0], [0.5, 0.5, -1.0]])  # sums 3 and 2
    assert value(losses.l1_activity(as_tensor(code))) == pytest.approx(2.5)


def test_l2_kernels_matches_numpy(rng):
    arrays = [rng.normal(size=(6, 4)), rng.normal(size=(4, 3)), rng.normal(size=(3,))]
    kernels = [tf.Variable(array, dtype=tf.float32) for array in arrays]
    expected = sum(float(np.sum(array**2)) for array in arrays)
    assert value(losses.l2_kernels(kernels)) == pytest.approx(expected, rel=1e-5)


def test_l2_kernels_of_nothing_is_zero():
    assert value(losses.l2_kernels([])) == 0.0


def test_tied_model_counts_each_kernel_once(build_untrained):
    tied, config = build_untrained("tied", hidden=(16,), code_size=4)
    encoder_kernels = [layer.kernel.numpy() for layer in tied.encoder_layers]
    assert len(tied.own_kernels) == len(config.layer_sizes) == 2
    expected = sum(float(np.sum(kernel**2)) for kernel in encoder_kernels)
    assert value(losses.l2_kernels(tied.own_kernels)) == pytest.approx(expected, rel=1e-5)
    untied, _ = build_untrained("stacked", hidden=(16,), code_size=4)
    assert len(untied.own_kernels) == 4  # two encoder and two decoder kernels
