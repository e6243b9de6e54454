"""Hand-written gradients: the reference every tool is checked and timed against.

Each one is what a careful person writes by hand for the function of the same
name in :mod:`bench.cases`: expressions simplified on paper, shared
subexpressions computed once, no helper calls, no tape. A function of one
scalar input gets its derivative in forward mode (carry ``dx`` along with
``x``; nothing to store), which is how one differentiates a loop by hand. A
function of several inputs gets all partial derivatives from one pass.

Return values: a float for a function of one input, otherwise a tuple with one
entry per differentiated parameter, in signature order (as sct's adjoint).
Non-differentiable points follow the conventions of the function as written:
``sct.relu'(0) = 1`` (``heaviside(0) = 1``), while ``if z > 0`` takes the
``else`` branch at 0.
"""

import math

import numpy as np


def square(x):
    return 2.0 * x


def exercise_relu(x, w, b, y):
    # yhat = relu(z) + z, so d yhat / dz is 2 where relu is active, 1 elsewhere.
    z = w * x + b
    if z >= 0.0:
        r = 2.0 * (z + z - y)
        dz = r + r
    else:
        r = 2.0 * (z - y)
        dz = r
    return dz * w, dz * x, dz, -r


def exercise_if(x, w, b, y):
    z = w * x + b
    if z > 0:
        r = 2.0 * (z + z - y)
        dz = r + r
    else:
        r = 2.0 * (z - y)
        dz = r
    return dz * w, dz * x, dz, -r


def scalar_loop(x):
    # y' = (cos(y) x + 0.5) y' + sin(y), with y' = 1 at the start.
    y = x
    dy = 1.0
    for i in range(100):
        s = math.sin(y)
        dy = (math.cos(y) * x + 0.5) * dy + s
        y = s * x + 0.5 * y
    return dy


def newton(a):
    # The full step is x - (x*x - a) / (2x) = x/2 + a/(2x), whose derivative
    # is dx/2 + (1 - a dx / x) / (2x); the safeguard step halves x and dx.
    if a > 1.0:
        x = a
        dx = 1.0
    else:
        x = 1.0
        dx = 0.0
    for i in range(30):
        step = (x * x - a) / (2.0 * x)
        if step > 0.5 * x:
            x = 0.5 * x
            dx = 0.5 * dx
        else:
            dx = 0.5 * (dx + (1.0 - a * dx / x) / x)
            x = x - step
    return dx


def mlp(W1, b1, W2, b2, X, Y):
    # Gradients with respect to W1, b1, W2, b2 (X and Y are data).
    H = np.tanh(X @ W1 + b1)
    R = H @ W2 + b2 - Y
    dP = (2.0 / R.size) * R
    dW2 = H.T @ dP
    db2 = dP.sum(axis=0)
    dA = (dP @ W2.T) * (1.0 - H * H)
    dW1 = X.T @ dA
    db1 = dA.sum(axis=0)
    return dW1, db1, dW2, db2


def elementwise(x):
    # d/dx exp(sin x) x^2 = exp(sin x) x (x cos x + 2)
    e = np.exp(np.sin(x))
    return e * x * (x * np.cos(x) + 2.0)
