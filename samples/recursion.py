"""Recursion: x ** n by halving the exponent, and a continued fraction.

Each recursive call is a call of the function's own generated code
(``power_tangent`` calls ``power_tangent``); the adjoint recomputes the
forward sweep of each level it returns through, so it needs no stack.
"""


def power(x, n):
    if n == 0:
        return 1.0
    half = power(x, n // 2)
    if n % 2 == 0:
        return half * half
    return half * half * x


def continued_fraction(x, depth):
    if depth == 0:
        return x
    return x + 1.0 / continued_fraction(x, depth - 1)
