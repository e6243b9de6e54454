"""Explicit Euler for a damped harmonic oscillator, x'' + 2 zeta omega x' + omega**2 x = 0.

Each of the ``n`` steps of size ``dt`` updates position and velocity from the
old state. ``position`` returns where the mass is after ``n`` steps, as a
function of the initial state, the physical parameters and the step;
``energy`` integrates for a fixed time and returns the mechanical energy per
unit mass, which damping makes smaller than at the start.
"""

STEPS = 200


def position(x0, v0, omega, zeta, dt, n):
    x = x0
    v = v0
    for i in range(n):
        a = -2.0 * zeta * omega * v - omega * omega * x
        x = x + dt * v
        v = v + dt * a
    return x


def energy(x0, v0, omega, zeta):
    dt = 2.0 / STEPS
    x = x0
    v = v0
    for i in range(STEPS):
        a = -2.0 * zeta * omega * v - omega * omega * x
        x = x + dt * v
        v = v + dt * a
    return 0.5 * (v * v + omega * omega * x * x)
