"""Closed-form barriers of a perpendicular element: coherent rotation (Stoner–Wohlfarth), a straight wall
across the element, and the diameter where the wall becomes the cheaper path."""
from __future__ import annotations

import math

__all__ = ["coherent_barrier", "wall_barrier", "crossover_diameter"]


def coherent_barrier(K, volume, h=0.0):
    """Stoner–Wohlfarth barrier K V (1 − h)² in J of a uniaxial single-domain particle (K in J/m³, V in m³)
    with a field along the easy axis against the magnetization, h = H/H_K = B/(2K/Ms), 0 <= h < 1."""
    h = float(h)
    if not 0.0 <= h < 1.0:
        raise ValueError(f"h = {h!r} must lie in [0, 1) (h = H/H_K; at h >= 1 there is no barrier)")
    return float(K) * float(volume) * (1.0 - h) ** 2


def wall_barrier(A, K_eff, width, thickness):
    """Domain-wall barrier 4 √(A K_eff) w t in J of a long stripe of width w and thickness t (m) that reverses
    by sweeping one Bloch/Néel wall (energy 4√(A K) J/m² per wall area) across it."""
    return 4.0 * math.sqrt(float(A) * float(K_eff)) * float(width) * float(thickness)


def crossover_diameter(A, K_eff):
    """d_c = 16 √(A/K_eff) / π in m: the disc diameter at which a wall across the disc (4 √(A K) d t) costs as
    much as coherent rotation (K π d² t / 4). Below d_c a perpendicular disc reverses coherently (Δ ∝ d²),
    above it through a wall (Δ ∝ d)."""
    return 16.0 * math.sqrt(float(A) / float(K_eff)) / math.pi
