"""Piecewise functions: the branch taken depends on the inputs.

``huber`` is the Huber loss of a residual ``r``: quadratic near zero, linear
beyond ``delta``, with a matching slope where the pieces meet, and one
``return`` per piece. ``smoothstep`` rises from 0 to 1 between ``lo`` and
``hi`` along the cubic 3t**2 - 2t**3, tested with a chained comparison.
"""


def huber(r, delta):
    if r > delta:
        return delta * (r - 0.5 * delta)
    elif r < -delta:
        return -delta * (r + 0.5 * delta)
    else:
        return 0.5 * r * r


def smoothstep(x, lo, hi):
    if x <= lo:
        y = 0.0
    elif lo < x < hi:
        t = (x - lo) / (hi - lo)
        y = t * t * (3.0 - 2.0 * t)
    else:
        y = 1.0
    return y
