"""A two-layer perceptron: tanh hidden layer, linear output, mean squared error.

``X`` is a batch of inputs (64 x 32 in the benchmark), ``W1`` / ``b1`` the
hidden layer (32 -> 64), ``W2`` / ``b2`` the output layer (64 -> 1).
"""

import numpy as np

from sct import mse


def mlp_loss(W1, b1, W2, b2, X, y):
    h = np.tanh(X @ W1 + b1)
    out = h @ W2 + b2
    return mse(out, y)
