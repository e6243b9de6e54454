"""The benchmarked functions, as sct reads them.

This is a real ``.py`` file because sct reads a function's source from its file.
The functions are plain (not decorated): the benchmark times them as they are,
and calls ``sct.differentiate`` on them itself, so the function's own time does
not include the ``Differentiated`` wrapper.

Each function is written the way a user would write it. The hand-written
gradients live in :mod:`bench.hand`, the other tools' versions in
:mod:`bench.peers`; the points they are evaluated at in :mod:`bench.registry`.
"""

import math

import numpy as np

import sct


def square(x):
    return x * x


def exercise_relu(x, w, b, y):
    v = w * x
    z = v + b
    h = sct.relu(z)
    yhat = h + z
    return sct.mse(yhat, y)


def exercise_if(x, w, b, y):
    v = w * x
    z = v + b
    if z > 0:
        h = z
    else:
        h = 0.0
    yhat = h + z
    return sct.mse(yhat, y)


def scalar_loop(x):
    y = x
    for i in range(100):
        y = math.sin(y) * x + y * 0.5
    return y


def newton(a):
    # Newton's method for sqrt(a), with a step that never jumps past zero.
    if a > 1.0:
        x = a
    else:
        x = 1.0
    i = 0
    while i < 30:
        step = (x * x - a) / (2.0 * x)
        if step > 0.5 * x:
            x = 0.5 * x
        else:
            x = x - step
        i += 1
    return x


def mlp(W1, b1, W2, b2, X, Y):
    H = np.tanh(X @ W1 + b1)
    P = H @ W2 + b2
    return np.mean((P - Y) ** 2)


def elementwise(x):
    return np.sum(np.exp(np.sin(x)) * x**2)


def twenty_lines(x0, v0, k, dt):
    # Only for the transform-time goal: twenty lines of scalar code with a
    # branch and a loop (a projectile with drag, stepped until it lands).
    x = x0
    h = 0.0
    vx = v0 * math.cos(0.7)
    vy = v0 * math.sin(0.7)
    t = 0.0
    steps = 0
    while steps < 200:
        speed = math.sqrt(vx * vx + vy * vy)
        drag = k * speed
        ax = -drag * vx
        ay = -9.81 - drag * vy
        vx = vx + ax * dt
        vy = vy + ay * dt
        x = x + vx * dt
        h = h + vy * dt
        t = t + dt
        if h < 0.0:
            break
        steps += 1
    return x + 0.5 * t * t * k
