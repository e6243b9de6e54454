"""Projectile and pendulum: textbook physics formulas, straight-line code.

``projectile_range`` is how far a projectile launched at speed ``v`` and
angle ``theta`` flies over flat ground under gravity ``g`` (no drag);
``max_height`` is the top of its arc. ``pendulum_energy`` is the mechanical
energy of a pendulum of mass ``m`` and length ``length`` at angle ``theta``
from the vertical with angular velocity ``omega``.
"""

import math


def projectile_range(v, theta, g):
    return v**2 * math.sin(2 * theta) / g


def max_height(v, theta, g):
    vy = v * math.sin(theta)
    return vy * vy / (2 * g)


def pendulum_energy(m, length, theta, omega, g):
    speed = length * omega
    kinetic = 0.5 * m * speed**2
    potential = m * g * length * (1 - math.cos(theta))
    return kinetic + potential
