"""The loss terms, written from the maths, not copied from tutorials (several have typos in them).

All take and return TensorFlow tensors; tests compare them with NumPy references.
"""

from __future__ import annotations

import tensorflow as tf

# Keeps log() finite when a sigmoid saturates to exactly 0 or 1 in float32.
_EPSILON = 1e-7


def kl_sparsity(target: float, activations: tf.Tensor) -> tf.Tensor:
    """KL(target || mean activation), summed over units; the mean is over the batch axis.

    KL(p || q) = p log(p / q) + (1 - p) log((1 - p) / (1 - q)).
    """
    mean = tf.clip_by_value(tf.reduce_mean(activations, axis=0), _EPSILON, 1.0 - _EPSILON)
    p = tf.cast(target, mean.dtype)  # a number, or the trainer's variable
    return tf.reduce_sum(p * tf.math.log(p / mean) + (1 - p) * tf.math.log((1 - p) / (1 - mean)))


def _twice_vae_kl(mean: tf.Tensor, log_variance: tf.Tensor) -> tf.Tensor:
    """exp(gamma) + mu^2 - 1 - gamma per example and latent unit: twice its KL from N(0, 1)."""
    return tf.exp(log_variance) + tf.square(mean) - 1.0 - log_variance


def vae_latent_loss(mean: tf.Tensor, log_variance: tf.Tensor) -> tf.Tensor:
    """0.5 * sum(exp(gamma) + mu^2 - 1 - gamma) over latent units, averaged over the batch."""
    per_example = 0.5 * tf.reduce_sum(_twice_vae_kl(mean, log_variance), axis=-1)
    return tf.reduce_mean(per_example)


def vae_kl_per_dimension(mean: tf.Tensor, log_variance: tf.Tensor) -> tf.Tensor:
    """Each latent unit's KL from N(0, 1), averaged over the batch: near zero for a unit the
    encoder does not use (posterior collapse)."""
    return tf.reduce_mean(0.5 * _twice_vae_kl(mean, log_variance), axis=0)


def mse(target: tf.Tensor, output: tf.Tensor) -> tf.Tensor:
    """Mean squared error over every value of the batch."""
    return tf.reduce_mean(tf.square(output - target))


def bce_from_logits(target: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Binary cross-entropy per value, averaged over the batch and the pixels, as Keras does."""
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=logits))


def bce_from_logits_per_example(target: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Binary cross-entropy summed over the pixels of each example, averaged over the batch.

    The VAE uses this scale so its reconstruction and latent terms are both per-example sums.
    """
    per_value = tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=logits)
    return tf.reduce_mean(tf.reduce_sum(per_value, axis=-1))


def l1_activity(code: tf.Tensor) -> tf.Tensor:
    """Sum of |code| over units, averaged over the batch (independent of the batch size)."""
    return tf.reduce_mean(tf.reduce_sum(tf.abs(code), axis=-1))


def l2_kernels(kernels: list[tf.Variable]) -> tf.Tensor:
    """Sum of squared weights of the given kernels (each variable once)."""
    if not kernels:
        return tf.constant(0.0)
    return tf.add_n([tf.reduce_sum(tf.square(k)) for k in kernels])
