"""Newton's method for a square root: iterate r <- (r + a / r) / 2 until it stops moving.

Started at or above the root, the iterates decrease monotonically to
sqrt(a); the loop stops after the first step that no longer decreases r by
a relative 1e-15 (or after 60 steps). How many steps run depends on ``a``.
At least one step always runs, so the derivative of the result is that of
sqrt, 1 / (2 sqrt(a)), even when the start is the root itself (a = 1).
"""


def newton_sqrt(a):
    r = a
    if r < 1.0:
        r = 1.0
    steps = 0
    while steps < 60:
        r_old = r
        r = 0.5 * (r + a / r)
        if r_old - r <= 1e-15 * r:
            break
        steps += 1
    return r
