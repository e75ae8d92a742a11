"""Physical constants in SI units (CODATA 2018)."""
import math

mu0 = 4e-7 * math.pi  # vacuum permeability, T·m/A (the classic value, as MuMax3 and OOMMF use)
"""Vacuum permeability μ0 in T·m/A."""
hbar = 1.054571817e-34  # J·s
e = 1.602176634e-19  # elementary charge, C
kB = 1.380649e-23  # Boltzmann constant, J/K
muB = 9.2740100783e-24  # Bohr magneton, J/T
gamma_e = 1.76085963023e11  # free-electron gyromagnetic ratio, rad/(s·T)
gamma_mumax = 1.7595e11  # the value MuMax3 uses, rad/(s·T)
gamma0_umag = 2.211e5  # µMAG standard-problem γ0 = μ0·γ, m/(A·s)
