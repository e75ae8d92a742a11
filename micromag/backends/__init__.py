"""Backend selection. The NumPy backend is the reference and the CPU fallback."""
from __future__ import annotations

BACKENDS = ("auto", "cpu", "gpu")


def select_backend(name="auto"):
    """Return the name of the backend to use for ``name`` in {'auto', 'cpu', 'gpu'}."""
    name = str(name).lower()
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
    if name == "gpu":
        raise RuntimeError("backend='gpu' is not available in this version (the CuPy backend is not built yet); "
                           "use backend='cpu' or 'auto'")
    return "cpu"
