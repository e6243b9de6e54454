"""Horner's rule: a cubic's value from its coefficients, one multiply-add per coefficient.

    p(x) = c0 + c1 x + c2 x**2 + c3 x**3 = ((c3 x + c2) x + c1) x + c0

The coefficients are parameters, so the gradient says how the value moves
with each of them (dp/dck = x**k) as well as with x (the derivative p'(x)).
The loop runs over a literal tuple of the coefficients, highest first: sct
unrolls it, so the generated code is straight-line.
"""


def horner(x, c0, c1, c2, c3):
    p = 0.0
    for c in (c3, c2, c1, c0):
        p = p * x + c
    return p
