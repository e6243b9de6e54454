"""Softmax cross-entropy, with the row maximum subtracted so that exp cannot overflow.

``labels`` is one-hot (one row per example). Subtracting the maximum changes
no value and no derivative: its adjoint contributions cancel.
"""

import numpy as np


def softmax_cross_entropy(W, X, labels):
    logits = X @ W
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_norm = np.log(np.sum(np.exp(shifted), axis=1))
    picked = np.sum(shifted * labels, axis=1)
    return np.mean(log_norm - picked)
