"""Logistic regression: the mean cross-entropy of a linear model's probabilities.

``w`` is a vector of weights, ``b`` a scalar bias, ``X`` a matrix of rows of
features and ``y`` a vector of 0/1 labels. The gradient with respect to ``w``
and ``b`` is what a training step follows.
"""

import numpy as np


def logistic_loss(w, b, X, y):
    z = X @ w + b
    p = 1 / (1 + np.exp(-z))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
