"""A helper function called twice: the energy of two springs holding a mass.

``spring`` is the user's own function; sct differentiates it once for each
pattern of arguments that carry a derivative (``spring_adjoint`` when all do,
``spring_adjoint_wrt_k_x`` when the rest length is a constant) and calls it
from ``two_springs``'s generated code.
"""


def spring(k, x, rest=1.0):
    stretch = x - rest
    return 0.5 * k * stretch * stretch


def two_springs(k1, k2, x):
    left = spring(k1, x)
    right = spring(k2, 3.0 - x, rest=0.5)
    return left + right
