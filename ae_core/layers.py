"""Keras building blocks the models share."""

from __future__ import annotations

import keras
from keras import ops


class DenseTranspose(keras.layers.Layer):
    """A decoder layer whose kernel is the transpose of an encoder ``Dense`` kernel.

    The kernel is the encoder's own variable, not a copy, so one gradient step moves both; only
    the bias is this layer's. The bias is sized from the kernel's shape, because Keras 3 layers
    no longer expose ``input_shape``.
    """

    def __init__(
        self, source: keras.layers.Dense, activation=None, bias_init: float = 0.0, **kwargs
    ):
        super().__init__(**kwargs)
        self.bias_init = float(bias_init)
        # Held in a tuple so Keras does not track the source as a sub-layer of this one: its
        # kernel must belong to the encoder alone (one variable, one L2 term, one weight file).
        self._source = (source,)
        self.activation = keras.activations.get(activation)

    @property
    def source(self) -> keras.layers.Dense:
        return self._source[0]

    def build(self, input_shape):
        self.bias = self.add_weight(
            name="bias",
            shape=(self.source.kernel.shape[0],),
            initializer=keras.initializers.Constant(self.bias_init),
        )

    def call(self, inputs):
        outputs = ops.matmul(inputs, ops.transpose(self.source.kernel)) + self.bias
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.source.kernel.shape[0])
