"""A single neuron and a two-layer network on one example, with the exercise's functions.

``neuron_loss`` is a sigmoid neuron with two inputs, scored by the squared
error against the target ``y``. ``two_layer_loss`` feeds one input through a
hidden ReLU unit and a linear output unit, as in the exercise but with a
second weight and bias.
"""

import sct
from sct import mse, sigmoid


def neuron_loss(x1, x2, w1, w2, b, y):
    z = w1 * x1 + w2 * x2 + b
    a = sigmoid(z)
    return mse(a, y)


def two_layer_loss(x, w1, b1, w2, b2, y):
    h = sct.relu(w1 * x + b1)
    yhat = w2 * h + b2
    return mse(yhat, y)
