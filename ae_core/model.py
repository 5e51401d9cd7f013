"""The autoencoder models, rebuilt from a RunConfig alone, and the training objectives they expose.

A model owns its layers and knows how to compute its loss terms for one batch (a ``Phase``); the
trainer owns the loop, the optimizer and the random stream. Layer-wise training is a list of
phases over the same layers, so the trainer needs no special case for it.

The objective reads the loss weights, the sparsity target and the noise level from a ``settings``
object: the run's config itself for analysis, or ``RunTimeSettings`` (variables) in the trainer,
so one compiled training step serves every run of a shape (``RunConfig.shape_signature``), and
``Autoencoder.reinitialise`` starts a new run in the same variables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import tensorflow as tf

from ae_core import losses
from ae_core.config import RunConfig
from ae_core.layers import DenseTranspose

# Loss terms in the order they are reported; a run reports the ones its config switches on.
TERM_NAMES = ("reconstruction", "sparsity", "l2", "l1", "latent")
# The run-time settings the objective reads (learning rate, seed and initial weights are the
# optimizer's, the random stream's and the layers' business).
OBJECTIVE_SETTINGS = ("noise_level", "sparsity_target", "sparsity_weight", "l1", "l2", "kl_weight")


class RunTimeSettings:
    """The objective's settings as variables the compiled step reads while it runs: a run of a
    known shape ``load``s its values here instead of compiling a step of its own."""

    def __init__(self, config: RunConfig):
        self._variables = {
            name: tf.Variable(float(getattr(config, name)), trainable=False, name=name)
            for name in OBJECTIVE_SETTINGS
        }

    def load(self, config: RunConfig) -> None:
        for name, variable in self._variables.items():
            variable.assign(float(getattr(config, name)))

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_variables"][name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class Phase:
    """One training objective over some of the model's variables.

    ``compute(x, rng, training)`` returns the loss terms (name -> scalar) and the mean activation
    of every encoder layer (None for layers the phase does not run). ``term_names`` and
    ``reported_layers`` say which of those are present; they depend only on the config.
    """

    name: str
    variables: list[tf.Variable]
    compute: Callable[[tf.Tensor, tf.random.Generator, bool], tuple[dict, list]]
    input_dim: int
    term_names: tuple[str, ...] = ()
    reported_layers: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        # One eager call on a tiny batch finds which terms and layers this phase produces.
        probe = tf.zeros((2, self.input_dim))
        terms, means = self.compute(probe, tf.random.Generator.from_seed(0), False)
        self.term_names = tuple(name for name in TERM_NAMES if name in terms)
        self.reported_layers = tuple(i for i, mean in enumerate(means) if mean is not None)


def _activation(name: str):
    return keras.activations.get(None if name == "linear" else name)


def add_training_noise(
    noise: str, noise_level: float, x: tf.Tensor, rng: tf.random.Generator
) -> tf.Tensor:
    """Training-time input noise (the loss still compares with the clean input); the app's
    reconstruction view applies the same rule at other levels."""
    if noise == "gaussian":
        return x + noise_level * rng.normal(tf.shape(x))
    if noise == "gaussian_clipped":
        return tf.clip_by_value(x + noise_level * rng.normal(tf.shape(x)), 0.0, 1.0)
    if noise == "dropout":
        keep = rng.uniform(tf.shape(x)) >= noise_level
        # Scaled like keras.layers.Dropout, so the expected input is unchanged.
        return tf.where(keep, x / (1.0 - noise_level), tf.zeros_like(x))
    return x


@keras.saving.register_keras_serializable(package="ae_core")
class Autoencoder(keras.Model):
    """Encoder Dense stack, mirrored decoder (optionally tied), configured output."""

    # The seed offset of each Dense layer's initialiser, by layer name (see ``_initializer``).
    _seed_offsets: dict[str, int]

    def __init__(self, run_config: dict, input_dim: int, **kwargs):
        super().__init__(**kwargs)
        object.__setattr__(self, "_seed_offsets", {})  # plain data, not tracked by Keras
        self.run_config = RunConfig.from_dict(run_config)
        self.input_dim = int(input_dim)
        self._make_encoder()
        self.decoder_layers = self._make_decoder()
        # Decoder layers are linear; their activations are applied here so the output layer's
        # logits are at hand for a numerically stable cross-entropy.
        hidden_activation = _activation(self.run_config.activation)
        self.decoder_activations = [hidden_activation] * (len(self.decoder_layers) - 1)
        self.decoder_activations.append(_activation(self.run_config.output_activation))
        self.build((None, self.input_dim))

    # -- construction ---------------------------------------------------------------------------
    def _dense(self, size: int, index: int, name: str, activation: str = "linear"):
        self._seed_offsets[name] = index
        return keras.layers.Dense(
            size,
            activation=_activation(activation),
            kernel_initializer=self._initializer(index),
            bias_initializer=keras.initializers.Constant(self.run_config.bias_init),
            name=name,
        )

    def _make_encoder(self) -> None:
        plan = zip(self.run_config.layer_sizes, self.run_config.encoder_activations, strict=True)
        self.encoder_layers = [
            self._dense(size, index, f"encoder_{index + 1}", act)
            for index, (size, act) in enumerate(plan)
        ]

    def _build_encoder(self, shape: tuple) -> None:
        for layer in self.encoder_layers:
            layer.build(shape)
            shape = (None, layer.units)

    def _initializer(self, index: int):
        # A distinct, config-derived seed per layer makes equal configs start from equal weights.
        seed = self.run_config.seed * 1009 + index
        if self.run_config.init == "truncated_normal":
            # tf.truncated_normal(stddev=0.1) of the TensorFlow 1 tutorials: a fixed spread,
            # not one scaled by the layer's width.
            return keras.initializers.TruncatedNormal(stddev=0.1, seed=seed)
        return keras.initializers.get(
            {"class_name": self.run_config.init, "config": {"seed": seed}}
        )

    def _make_decoder(self) -> list[keras.layers.Layer]:
        widths = [self.input_dim, *self.run_config.hidden]  # decoder output widths, innermost last
        layers = []
        for index in reversed(range(len(widths))):
            name = f"decoder_{len(widths) - index}"
            if self.run_config.tied:
                layers.append(
                    DenseTranspose(
                        self.encoder_layers[index], bias_init=self.run_config.bias_init, name=name
                    )
                )
            else:
                layers.append(self._dense(widths[index], 100 + index, name))
        return layers

    def build(self, input_shape):
        self._build_encoder(tuple(input_shape))
        shape = (None, self.run_config.code_size)
        for layer in self.decoder_layers:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.built = True

    def reinitialise(self, config: RunConfig) -> None:
        """Become a freshly built model of ``config`` (a config of the same shape signature), in
        place: every weight drawn again by the initialiser a new build would use, so the numbers
        are those of a new model while compiled functions holding these variables stay valid."""
        if config.shape_signature != self.run_config.shape_signature:
            raise ValueError(f"a {config.variant} config of another shape cannot reuse this model")
        self.run_config = config
        bias = keras.initializers.Constant(config.bias_init)
        for layer in self.layers:
            if isinstance(layer, keras.layers.Dense):
                layer.kernel_initializer = self._initializer(self._seed_offsets[layer.name])
                layer.bias_initializer = bias
                layer.kernel.assign(
                    layer.kernel_initializer(tuple(layer.kernel.shape), layer.kernel.dtype)
                )
                layer.bias.assign(bias(tuple(layer.bias.shape), layer.bias.dtype))
            elif isinstance(layer, DenseTranspose):
                layer.bias_init = config.bias_init
                layer.bias.assign(bias(tuple(layer.bias.shape), layer.bias.dtype))

    def get_config(self):
        return {
            "name": self.name,
            "run_config": self.run_config.to_dict(),
            "input_dim": self.input_dim,
        }

    # -- forward passes -------------------------------------------------------------------------
    def encode_layers(self, x) -> list:
        """Activations of every encoder layer, outermost first, ending with the code."""
        outputs = []
        for layer in self.encoder_layers:
            x = layer(x)
            outputs.append(x)
        return outputs

    @property
    def encoder_depth(self) -> int:
        """How many encoder layers report activations (the code included)."""
        return len(self.encoder_layers)

    @property
    def input_layer(self) -> keras.layers.Dense:
        """The layer that sees the pixels: its weights are the model's first-layer features."""
        return self.encoder_layers[0]

    def encode(self, x):
        return self.encode_layers(x)[-1]

    def decode_logits(self, code):
        """The decoder's output before the output activation."""
        x = code
        for layer, activation in zip(
            self.decoder_layers[:-1], self.decoder_activations[:-1], strict=True
        ):
            x = activation(layer(x))
        return self.decoder_layers[-1](x)

    def decode(self, code):
        return self.decoder_activations[-1](self.decode_logits(code))

    def call(self, x, training: bool = False):
        return self.decode(self.encode(x))

    def decoder_activation_outputs(self, code) -> list:
        x, outputs = code, []
        for layer, activation in zip(self.decoder_layers, self.decoder_activations, strict=True):
            x = activation(layer(x))
            outputs.append(x)
        return outputs

    # -- objectives -----------------------------------------------------------------------------
    @property
    def own_kernels(self) -> list[tf.Variable]:
        """Every kernel variable once: tied decoders have none of their own."""
        kernels = [layer.kernel for layer in self.encoder_layers]
        kernels += [layer.kernel for layer in self.decoder_layers if hasattr(layer, "kernel")]
        return kernels

    def reconstruction_loss(self, target, logits):
        if self.run_config.loss == "bce":
            return losses.bce_from_logits(target, logits)
        return losses.mse(target, self.decoder_activations[-1](logits))

    def _regularisers(
        self, activations: list, kernels: list, layers_run: range, settings: Any
    ) -> dict:
        # Which terms exist is the config's (part of the shape); their weights are ``settings``.
        cfg, terms = self.run_config, {}
        penalised = [i for i in cfg.penalised_layers if i in layers_run]
        if cfg.sparsity_weight > 0 and penalised:
            terms["sparsity"] = settings.sparsity_weight * tf.add_n(
                [losses.kl_sparsity(settings.sparsity_target, activations[i]) for i in penalised]
            )
        code_index = len(self.encoder_layers) - 1
        if cfg.l1 > 0 and code_index in layers_run:
            terms["l1"] = settings.l1 * losses.l1_activity(activations[code_index])
        if cfg.l2 > 0:
            terms["l2"] = settings.l2 * losses.l2_kernels(kernels)
        return terms

    def _mean_activations(self, activations: list) -> list:
        means = [tf.reduce_mean(a) if a is not None else None for a in activations]
        return means + [None] * (self.encoder_depth - len(means))

    def full_phase(self, settings: Any = None, name: str = "all layers") -> Phase:
        """End-to-end training of every layer; ``settings`` holds the objective's run-time
        settings (default: this model's config)."""
        everything = range(len(self.encoder_layers))
        config = self.run_config
        settings = settings if settings is not None else config

        def compute(x, rng, training):
            inputs = (
                add_training_noise(config.noise, settings.noise_level, x, rng) if training else x
            )
            activations = self.encode_layers(inputs)
            terms = {
                "reconstruction": self.reconstruction_loss(x, self.decode_logits(activations[-1]))
            }
            terms.update(self._regularisers(activations, self.own_kernels, everything, settings))
            return terms, self._mean_activations(activations)

        return Phase(name, list(self.trainable_variables), compute, self.input_dim)

    def layer_phases(self, settings: Any = None) -> list[Phase]:
        """Greedy layer-wise training: phase k trains encoder layer k and its mirror decoder layer
        to reconstruct layer k's input, with the layers below frozen and those above bypassed."""
        depth = len(self.encoder_layers)
        settings = settings if settings is not None else self.run_config
        return [self._layer_phase(k, depth, settings) for k in range(depth)]

    def _layer_phase(self, k: int, depth: int, settings: Any) -> Phase:
        encoder, decoder = self.encoder_layers[k], self.decoder_layers[depth - 1 - k]
        target_activation = self.decoder_activations[depth - 1 - k]
        kernels = [encoder.kernel] + ([decoder.kernel] if hasattr(decoder, "kernel") else [])
        config = self.run_config

        def compute(x, rng, training):
            below = []
            for layer in self.encoder_layers[:k]:
                x = tf.stop_gradient(layer(x))
                below.append(x)
            inputs = (
                add_training_noise(config.noise, settings.noise_level, x, rng) if training else x
            )
            code = encoder(inputs)
            logits = decoder(code)
            if k == 0:
                recon = self.reconstruction_loss(x, logits)
            else:
                # Inner layers rebuild a hidden activation, which need not lie in [0, 1].
                recon = losses.mse(x, target_activation(logits))
            activations = [*below, code]
            terms = {"reconstruction": recon}
            regs = self._regularisers(
                activations + [None] * (depth - k - 1), kernels, range(k, k + 1), settings
            )
            terms.update(regs)
            return terms, self._mean_activations(activations)

        variables = list(encoder.trainable_variables) + list(decoder.trainable_variables)
        # A tied decoder's kernel is the encoder's: list each variable once.
        unique = list({id(v): v for v in variables}.values())
        name = f"layer {k + 1} of {depth}"
        return Phase(name, unique, compute, self.input_dim)


@keras.saving.register_keras_serializable(package="ae_core")
class VariationalAutoencoder(Autoencoder):
    """Hidden layers, then mean and log-variance heads; the decoder mirrors the hidden layers."""

    def _make_encoder(self) -> None:
        cfg = self.run_config
        self.encoder_layers = [
            self._dense(size, index, f"encoder_{index + 1}", cfg.activation)
            for index, size in enumerate(cfg.hidden)
        ]
        self.mean_head = self._dense(cfg.code_size, 50, "latent_mean")
        self.log_variance_head = self._dense(cfg.code_size, 51, "latent_log_variance")

    def _build_encoder(self, shape: tuple) -> None:
        super()._build_encoder(shape)
        if self.encoder_layers:
            shape = (None, self.encoder_layers[-1].units)
        self.mean_head.build(shape)
        self.log_variance_head.build(shape)

    def encode_layers(self, x) -> list:
        """Hidden activations then the latent mean, which serves as the code."""
        hidden = super().encode_layers(x)  # the parent's loop runs the hidden layers only here
        return [*hidden, self.mean_head(hidden[-1] if hidden else x)]

    def encode_distribution(self, x) -> tuple[list, tf.Tensor, tf.Tensor]:
        """Hidden activations, then the latent mean and log-variance."""
        hidden = super().encode_layers(x)
        last = hidden[-1] if hidden else x
        return hidden, self.mean_head(last), self.log_variance_head(last)

    @property
    def own_kernels(self) -> list[tf.Variable]:
        return super().own_kernels + [self.mean_head.kernel, self.log_variance_head.kernel]

    @property
    def encoder_depth(self) -> int:
        return len(self.encoder_layers) + 1

    @property
    def input_layer(self) -> keras.layers.Dense:
        return self.encoder_layers[0] if self.encoder_layers else self.mean_head

    def full_phase(self, settings: Any = None, name: str = "all layers") -> Phase:
        cfg = self.run_config
        settings = settings if settings is not None else cfg

        def compute(x, rng, training):
            hidden, mean, log_variance = self.encode_distribution(x)
            if training:
                # The reparameterisation trick: the noise is an input, so gradients reach the heads.
                code = mean + tf.exp(0.5 * log_variance) * rng.normal(tf.shape(mean))
            else:
                code = mean
            terms = {
                "reconstruction": losses.bce_from_logits_per_example(x, self.decode_logits(code)),
                "latent": settings.kl_weight * losses.vae_latent_loss(mean, log_variance),
            }
            if cfg.l2 > 0:
                terms["l2"] = settings.l2 * losses.l2_kernels(self.own_kernels)
            return terms, self._mean_activations([*hidden, mean])

        return Phase(name, list(self.trainable_variables), compute, self.input_dim)

    def layer_phases(self, settings: Any = None) -> list[Phase]:
        raise NotImplementedError("the VAE trains end to end")
