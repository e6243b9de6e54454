"""A recurrent loop that writes each step into a preallocated array.

h[t+1] = tanh(w * h[t] + u * x[t]); the loss is the sum of squares of every
state. The adjoint runs the loop backwards, restoring each element the
forward loop overwrote, and routes h's adjoint to the element it came from.
"""

import numpy as np


def recurrent_loss(h0, w, u, xs):
    n = xs.shape[0]
    hs = np.zeros(n + 1)
    hs[0] = h0
    for t in range(n):
        hs[t + 1] = np.tanh(w * hs[t] + u * xs[t])
    return np.sum(hs * hs)
