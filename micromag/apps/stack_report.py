"""What the rest of a stack does to its free layer: offset field, Δ for P and AP, Ic0 both ways, SAF spin-flop.

All on the public API of :class:`~micromag.apps.stack.Stack` and :class:`~micromag.Simulation`:

``offset_field(stack)``
    the field (T) the rest of the stack puts on the free layer(s): the dipolar stray field of every other
    magnetic layer (from the demag FFT of the stack with the free layers left out: a cell that is not
    magnetic sees the demag field) plus the bilinear interlayer field of a layer coupled to a free layer
    (J1/(Ms t) m_other, averaged over the free layer's thickness); its fill-weighted mean over the free cells
    and its map.
``free_layer_macrospin(stack)``
    V (m³), Ms (A/m), K_eff (J/m³: (E(in-plane) − E(perpendicular))/V of the free layer alone, its
    self-demag included), B_K = 2 K_eff/Ms (T), α.
``delta_P_AP(stack, T)``
    Δ of the parallel and antiparallel states in the offset field: macrospin K_eff V (1 ± h)²/(k_B T),
    h = B_off·u_ref / B_K; and, with ``simulate=True``, from :func:`micromag.energy_barrier` on the free layer
    with the offset field map applied (the rest of the stack held rigid).
``critical_currents(stack)``
    Ic0 for P → AP and AP → P (:func:`micromag.apps.retention.stt_critical_current` with K_eff ± Ms B_par/2);
    ``critical_currents_simulated(stack)``: the same from the free layer's dynamics (zero of the growth rate
    of a small tilt against the current, batched).
``saf_spin_flop_field(stack, a, b)`` / ``saf_spin_flop_simulated(...)``
    the field at which the antiparallel state of two coupled layers becomes unstable (closed form of two
    macrospins; and by relaxing the stack at fields bracketing it).

"P" means the free layer along the reference layer's m0 (``u_ref``), "AP" against it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..engine.constants import kB


@dataclass
class OffsetField:
    """The field of the rest of the stack on the free layer(s).

    mean        fill-weighted mean over the free cells, T (3,)
    dipolar     the dipolar (stray field) part of ``mean``, T (3,)
    interlayer  the interlayer-exchange part of ``mean``, T (3,)
    map         the dipolar field on the free layers' planes, T (3, nk, ny, nx) (0 outside the free cells)
    planes      (first, end) z planes of ``map`` in the stack's grid
    """

    mean: np.ndarray
    dipolar: np.ndarray
    interlayer: np.ndarray
    map: np.ndarray
    planes: tuple

    def along(self, u):
        """The mean offset field's component along the unit vector u, T."""
        u = np.asarray(u, float)
        return float(self.mean @ (u / np.linalg.norm(u)))


def _free_planes(stack):
    fl = stack.free_layers()
    if not fl:
        raise ValueError(f"the stack has no free layer (role 'free'); roles: {[la.role for la in stack.layers]}")
    ks = [stack.planes(la.name) for la in fl]
    return min(k[0] for k in ks), max(k[1] for k in ks)


def reference_direction(stack):
    """u_ref: the m0 of the stack's reference layer (the P state of the free layer)."""
    return np.asarray(stack.layer_of_role("reference").m0, float)


def offset_field(stack, m=None, backend="cpu"):
    """The :class:`OffsetField` on the free layer(s) with the other layers in ``m`` ((3, nz, ny, nx); default
    their m0). ``backend`` runs the demag field ('cpu' or 'emulate'/'gpu')."""
    free = stack.free_mask()
    rest = [la.name for la in stack.magnetic_layers() if la.role != "free"]
    k0, k1 = _free_planes(stack)
    m = stack.initial_m() if m is None else np.asarray(m, float)
    if m.shape != (3,) + stack.grid.shape:
        raise ValueError(f"m must have shape (3, nz, ny, nx) = {(3,) + stack.grid.shape}, got {m.shape}")
    w = free * stack.fill()
    if not rest:
        B = np.zeros((3,) + stack.grid.shape)
    else:
        sim = stack.simulation(backend=backend, layers=rest, m=m)
        sim.B_ext = None
        B = sim.effective_field()[0]  # on the empty (free-layer) cells: the demag field of the rest alone
    Bmap = B[:, k0:k1] * free[k0:k1]
    dip = np.einsum("ckji,kji->c", B, w) / w.sum()
    # the bilinear interlayer field of a layer coupled to a free layer, averaged over that free layer
    il = np.zeros(3)
    frees = {la.name for la in stack.free_layers()}
    for below, above, J1, J2 in stack.couplings:
        for f, o in ((below, above), (above, below)):
            if f in frees and o not in frees:
                la = stack.layer(f)
                ko = stack.planes(o)
                m_o = np.einsum("ckji,kji->c", m[:, ko[0]:ko[1]], stack.mask(o)[ko[0]:ko[1]])
                m_o = m_o / max(stack.mask(o)[ko[0]:ko[1]].sum(), 1)
                wf = (stack.mask(f) * stack.fill()).sum()
                il += J1 / (la.material.Ms * la.thickness) * m_o * wf / w.sum()
    return OffsetField(mean=dip + il, dipolar=dip, interlayer=il, map=Bmap, planes=(k0, k1))


def free_layer_simulation(stack, B_map=None, backend="auto", **sim_options):
    """A Simulation of only the free layer(s), on the free planes of the stack's grid, with the field map
    ``B_map`` ((3, nk, ny, nx) T, e.g. ``offset_field(stack).map``) plus the stack's B_ext applied: the rest
    of the stack held rigid. Its m starts along the reference direction (or +z)."""
    from ..engine.grid import Grid
    from ..engine.simulation import Simulation
    from ..engine.terms.interlayer import InterlayerExchange

    k0, k1 = _free_planes(stack)
    g = stack.grid
    grid = Grid(n=(g.nx, g.ny, k1 - k0), cell=g.cell)
    fill = (stack.free_mask() * stack.fill())[k0:k1]
    regions = np.zeros(grid.shape, np.int32)
    materials = {}
    for r, la in enumerate(stack.free_layers()):
        materials[r] = la.material.with_(frozen=0.0)
        a, b = stack.planes(la.name)
        regions[a - k0:b - k0] = r
    sim = Simulation(grid, geometry=fill, regions=regions, materials=materials, backend=backend, **sim_options)
    frees = {la.name for la in stack.free_layers()}
    pairs = [(stack.planes(b)[1] - 1 - k0, stack.planes(a)[0] - k0, J1, J2)
             for b, a, J1, J2 in stack.couplings if b in frees and a in frees]
    if pairs:
        sim.add(InterlayerExchange(sim.system, pairs))
    field = np.zeros((3,) + grid.shape)
    if B_map is not None:
        B_map = np.asarray(B_map, float)
        if B_map.shape != field.shape:
            raise ValueError(f"B_map must have shape {field.shape} (the free planes), got {B_map.shape}")
        field += B_map
    if stack.B_ext is not None:
        field += np.asarray(stack.B_ext).reshape(3, 1, 1, 1)
    if np.any(field):
        sim.B_ext = field
    try:
        sim.m = tuple(reference_direction(stack))
    except ValueError:  # no reference layer
        sim.m = (0.0, 0.0, 1.0)
    return sim


@dataclass
class Macrospin:
    """The free layer as one macrospin: volume V (m³), Ms (A/m, volume-weighted), K_eff (J/m³, self-demag
    included), B_K = 2 K_eff/Ms (T), alpha (volume-weighted), thickness t (m, the free layers' sum)."""

    V: float
    Ms: float
    K_eff: float
    B_K: float
    alpha: float
    t: float


def free_layer_macrospin(stack, axis=None, backend="cpu", demag=True):
    """The :class:`Macrospin` of the free layer(s): K_eff = (E(m ⊥ axis) − E(m ∥ axis)) / V from the free
    layer's own micromagnetic energy (anisotropy, self-demag, exchange of uniform states: 0) with no applied
    field; ``axis`` default the reference direction (or z); ``demag=False`` leaves the self-demag out."""
    sim = free_layer_simulation(stack, backend=backend, demag=demag)
    sim.B_ext = None
    try:
        u = reference_direction(stack) if axis is None else np.asarray(axis, float)
    except ValueError:  # no reference layer
        u = np.array([0.0, 0.0, 1.0])
    u = u / np.linalg.norm(u)
    p = np.cross(u, [1.0, 0.0, 0.0])
    if np.linalg.norm(p) < 1e-6:
        p = np.cross(u, [0.0, 1.0, 0.0])
    p = p / np.linalg.norm(p)
    sim.m = tuple(u)
    E_par = sim.energy()
    sim.m = tuple(p)
    E_perp = sim.energy()
    w = sim.system.fill * sim.system.magnetic
    V = float(w.sum() * sim.grid.cell_volume)
    Ms = float((sim.system.param("Ms") * w).sum() * sim.grid.cell_volume / V)
    alpha = float((sim.system.param("alpha") * w).sum() * sim.grid.cell_volume / V)
    K_eff = (E_perp - E_par) / V
    t = sum(la.thickness for la in stack.free_layers())
    return Macrospin(V=V, Ms=Ms, K_eff=K_eff, B_K=2 * K_eff / Ms, alpha=alpha, t=t)


def delta_P_AP(stack, T=300.0, simulate=False, backend="auto", images=12, tol_torque=1e-3, max_iter=20000,
               progress=False):
    """Δ of the P and AP states of the free layer in the offset field of the stack, at temperature T (K;
    the materials as given).

    Returns a dict: ``h`` (= B_par/B_K, B_par the mean offset field along u_ref), ``B_par`` (T),
    ``macrospin`` {"P": Δ_P, "AP": Δ_AP} = K_eff V (1 ± h)²/(k_B T), and with ``simulate`` ``simulated``
    {"P", "AP"} from :func:`micromag.energy_barrier` between the two states of the free layer with the
    offset field map applied (barrier from P and back from AP of one path), and ``path``."""
    T = float(T)
    if not (math.isfinite(T) and T > 0):
        raise ValueError(f"T = {T!r} K must be > 0")
    u = reference_direction(stack)
    off = offset_field(stack)
    ms = free_layer_macrospin(stack)
    if not ms.K_eff > 0:
        raise ValueError(f"the free layer has no perpendicular barrier along u_ref (K_eff = {ms.K_eff:.3g} J/m³)")
    B_par = off.along(u)
    if stack.B_ext is not None:
        B_par += float(np.asarray(stack.B_ext) @ u)
    h = B_par / ms.B_K
    if abs(h) >= 1:
        raise ValueError(f"the offset field along u_ref ({B_par:.3g} T) exceeds B_K = {ms.B_K:.3g} T: one state "
                         "is not stable")
    kT = kB * T
    out = {"h": h, "B_par": B_par, "macrospin": {"P": ms.K_eff * ms.V * (1 + h) ** 2 / kT,
                                                 "AP": ms.K_eff * ms.V * (1 - h) ** 2 / kT}, "K_eff": ms.K_eff,
           "V": ms.V}
    if simulate:
        from .barrier import energy_barrier

        sim = free_layer_simulation(stack, B_map=off.map, backend=backend)
        path = energy_barrier(sim, tuple(u), tuple(-u), images=images, tol_torque=tol_torque, max_iter=max_iter,
                              progress=progress)
        out["simulated"] = {"P": path.barrier / kT, "AP": path.barrier_back / kT}
        out["path"] = path
    return out


def critical_currents(stack, P=0.6, Lambda=1.0):
    """Ic0 (A) for P → AP and AP → P in the offset field: :func:`micromag.apps.retention.stt_critical_current`
    with K_eff ± Ms B_par/2 (a field B_par along the initial state adds Ms B_par/2 to the anisotropy energy
    that the damping-like torque must overcome; Sun, Phys. Rev. B 62, 570 (2000)). Returns
    {"P->AP": A, "AP->P": A, "B_par": T}."""
    from .retention import stt_critical_current

    u = reference_direction(stack)
    ms = free_layer_macrospin(stack)
    B_par = offset_field(stack).along(u) + (0.0 if stack.B_ext is None else float(np.asarray(stack.B_ext) @ u))
    out = {"B_par": B_par}
    for key, state, s in (("P->AP", "P", 1.0), ("AP->P", "AP", -1.0)):
        K = ms.K_eff + s * ms.Ms * B_par / 2
        if K <= 0:
            raise ValueError(f"{key}: the offset field {B_par:.3g} T exceeds B_K = {ms.B_K:.3g} T (no stable state)")
        out[key] = stt_critical_current(K, ms.V, ms.alpha, P=P, Lambda=Lambda, state=state)
    return out


def critical_currents_simulated(stack, P=0.6, Lambda=1.0, backend="auto", tilt_deg=2.0,
                                fractions=(0.6, 0.85, 1.1, 1.35), samples=60):
    """Ic0 (A) for P → AP and AP → P from the free layer's own dynamics in the stack's offset field map (T = 0):
    the free layer (:func:`free_layer_simulation`, the rest of the stack rigid) with Slonczewski STT
    (polarizer u_ref, ``P``, ``Lambda``), started ``tilt_deg`` off the state, one batch member per current
    ``fractions`` × the closed-form Ic0 of :func:`critical_currents`; the growth rate of the tilt (slope of
    ln|m⊥| over 3 τ_D, τ_D = (1 + α²)/(α γ B_K)) is linear in the current and its zero is Ic0 (the linear
    stability of the state). Current I = J × footprint (V / t). Returns {"P->AP": A, "AP->P": A,
    "closed_form": critical_currents(...), "growth_rates_per_s": {...}, "currents_A": {...}}."""
    from ..engine.terms.stt import SlonczewskiSTT

    if not 0 < float(tilt_deg) < 30:
        raise ValueError(f"tilt_deg = {tilt_deg!r} must lie in (0, 30) degrees (a small tilt)")
    fr = np.asarray(fractions, dtype=float)
    if fr.ndim != 1 or fr.size < 2 or not np.all(fr > 0):
        raise ValueError(f"fractions must be at least two positive numbers (multiples of the closed-form Ic0), "
                         f"got {fractions!r}")
    u = reference_direction(stack)
    ms = free_layer_macrospin(stack)
    cf = critical_currents(stack, P=P, Lambda=Lambda)
    area = ms.V / ms.t
    off = offset_field(stack)
    p = np.cross(u, [1.0, 0.0, 0.0])
    if np.linalg.norm(p) < 1e-6:
        p = np.cross(u, [0.0, 1.0, 0.0])
    p = p / np.linalg.norm(p)
    a = math.radians(float(tilt_deg))
    out = {"closed_form": cf, "growth_rates_per_s": {}, "currents_A": {}}
    for key, s in (("P->AP", 1.0), ("AP->P", -1.0)):
        I = -s * fr * cf[key]  # P -> AP needs J < 0 (electrons from the free layer), AP -> P J > 0
        sim = free_layer_simulation(stack, B_map=off.map, backend=backend, batch=fr.size, tol=1e-7)
        sim.add(SlonczewskiSTT(sim.system, J=I / area, p=tuple(u), P=P, Lambda=Lambda, t_F=ms.t))
        sim.m = tuple(s * math.cos(a) * u + math.sin(a) * p)
        K = ms.K_eff + s * ms.Ms * cf["B_par"] / 2
        gamma = float(np.max(sim.system.param("gamma")))
        tau_D = (1 + ms.alpha**2) / (ms.alpha * gamma * 2 * K / ms.Ms)
        ts, perp = [], []
        for k in range(samples + 1):
            if k:
                sim.run(3 * tau_D / samples, progress=False)
            m = np.asarray(sim.m_avg).reshape(-1, 3)
            ts.append(float(np.atleast_1d(sim.t)[0]))
            perp.append(np.sqrt(np.maximum(1.0 - (m @ u) ** 2, 1e-30)))
        ts, perp = np.array(ts), np.array(perp)
        rates = []
        for b in range(fr.size):
            ok = perp[:, b] < 0.3
            n = max(int(np.argmin(ok)) if not ok.all() else len(ok), 3)
            rates.append(float(np.polyfit(ts[:n], np.log(perp[:n, b]), 1)[0]))
        slope, icpt = np.polyfit(np.abs(I), rates, 1)
        if not slope > 0:
            raise RuntimeError(f"{key}: the tilt's growth rate does not rise with the current (rates {rates} 1/s): "
                               "no spin-transfer instability in the range; widen fractions")
        out[key] = -icpt / slope
        out["growth_rates_per_s"][key] = rates
        out["currents_A"][key] = np.abs(I).tolist()
    return out


# ---------------------------------------------------------------------------------------------- SAF
def _layer_macrospin(stack, name, demag=True):
    """(Ms t in A, K_eff in J/m³ (own self-demag included), m0) of magnetic layer ``name`` alone."""
    from .stack import Stack, StackLayer

    la = stack.layer(name)
    single = Stack([StackLayer(la.name, la.thickness, "free", la.material, m0=la.m0, shape=la.shape)],
                   shape=stack.shape, cell=stack.cell, dz=stack.dz)
    ms = free_layer_macrospin(single, axis=la.m0, demag=demag)
    return ms.Ms * la.thickness, ms.K_eff, np.asarray(la.m0)


def saf_spin_flop_field(stack, a, b, demag=True):
    r"""The field (T, along the easy axis of the layer with the larger moment) at which the antiparallel
    state of magnetic layers ``a`` and ``b`` (coupled with J1 < 0) becomes unstable: two macrospins with
    moments per area p = Ms_a t_a, q = Ms_b t_b, anisotropies K_a, K_b (K_eff of each layer alone) and
    E/area = −Σ t_i (K_i cos²θ_i + Ms_i B cosθ_i) + |J1| cos(θ_a − θ_b). Around θ_a = 0, θ_b = π the Hessian
    [[A_a + pB, −|J1|], [−|J1|, A_b − qB]] (A_i = 2 K_i t_i + |J1|) loses positivity at

        B_sf = [ (p A_b − q A_a) + √((p A_b − q A_a)² + 4 p q (A_a A_b − J1²)) ] / (2 p q),

    for identical layers B_sf = √(B_K (B_K + 2 B_J)), B_K = 2K/Ms, B_J = |J1|/(Ms t): the spin-flop field of a
    uniaxial two-sublattice antiferromagnet, √(2 H_E H_A + H_A²) (Nagamiya, Yosida, Kubo, Adv. Phys. 4, 1
    (1955)). The dipolar coupling between the two layers is left out (it is in the simulated form); each
    K_i includes the layer's own shape anisotropy unless ``demag=False``. Returns B_sf in T."""
    J = None
    for lo, hi, J1, J2 in stack.couplings:
        if {lo, hi} == {a, b}:
            J, Jb = J1, J2
    if J is None:
        raise ValueError(f"layers {a!r} and {b!r} are not coupled by interlayer exchange")
    if not J < 0 or Jb:
        raise ValueError(f"the spin-flop closed form needs antiferromagnetic bilinear coupling (J1 < 0, J2 = 0); "
                         f"got J1 = {J:g}, J2 = {Jb:g} J/m²")
    pa, Ka, _ = _layer_macrospin(stack, a, demag)
    pb, Kb, _ = _layer_macrospin(stack, b, demag)
    for nm, K in ((a, Ka), (b, Kb)):
        if not K > 0:
            raise ValueError(f"layer {nm!r} has no easy axis along its m0 (K_eff = {K:.3g} J/m³): no spin-flop")
    if pb > pa:  # the larger moment lies along the field
        (pa, Ka, a), (pb, Kb, b) = (pb, Kb, b), (pa, Ka, a)
    Jm = -J
    ta, tb = stack.layer(a).thickness, stack.layer(b).thickness
    Aa, Ab = 2 * Ka * ta + Jm, 2 * Kb * tb + Jm
    p, q = pa, pb
    lin = p * Ab - q * Aa
    return (lin + math.sqrt(lin * lin + 4 * p * q * (Aa * Ab - Jm * Jm))) / (2 * p * q)


def saf_spin_flop_simulated(stack, a, b, lo, hi, rtol=2e-3, backend="auto", demag=True, tol_torque=1e-5,
                            tilt=1e-3):
    """The spin-flop field (T) of layers ``a`` and ``b`` from the stack itself: the two layers alone (with
    their interlayer exchange and, with ``demag``, their dipolar coupling), started antiparallel (each along
    ±its m0, tilted by ``tilt`` rad), relaxed at fields B along the larger moment's m0; bisection between
    ``lo`` (AP stays) and ``hi`` (AP leaves) T to a relative width ``rtol``. Raises ValueError when the
    bracket does not hold."""
    from .stack import layer_average

    pa = _layer_macrospin(stack, a)[0]
    pb = _layer_macrospin(stack, b)[0]
    big = a if pa >= pb else b
    u = np.asarray(stack.layer(big).m0, float)
    m0 = stack.initial_m()
    tilt_v = np.cross(u, [1.0, 0.0, 0.0])
    if np.linalg.norm(tilt_v) < 1e-6:
        tilt_v = np.cross(u, [0.0, 1.0, 0.0])
    m0 = m0 + tilt * (tilt_v / np.linalg.norm(tilt_v)).reshape(3, 1, 1, 1)
    sim = stack.simulation(backend=backend, demag=demag, layers=[a, b], m=m0)

    def ap_stays(B):
        sim.m = m0
        sim.B_ext = tuple(B * u)
        sim.relax(tol_torque=tol_torque, progress=False)
        return float(layer_average(sim, stack, a) @ layer_average(sim, stack, b)) < -0.99

    if not ap_stays(lo):
        raise ValueError(f"the antiparallel state already leaves at lo = {lo:g} T: lower lo")
    if ap_stays(hi):
        raise ValueError(f"the antiparallel state still holds at hi = {hi:g} T: raise hi")
    while hi - lo > rtol * hi:
        mid = 0.5 * (lo + hi)
        if ap_stays(mid):
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


# ---------------------------------------------------------------------------------------------- the loop
def switching_fields(stack, B_max, rtol=1e-3, backend="auto", tilt_deg=1.0, tol_torque=1e-4):
    """The free layer's switching fields (T, along u_ref) in the whole stack (same FFT; the other layers
    fixed or dynamic as declared): the applied field along −u_ref that reverses the P state, and the one
    along +u_ref that reverses the AP state, each by bisection in [0, B_max] to a relative width ``rtol``
    (relax from the state tilted by ``tilt_deg`` at each field; reversed: the free layer's mean m·u_ref
    changed sign). Returns {"P->AP": B (< 0), "AP->P": B (> 0), "center": their mean, "half_width"}; for a
    macrospin in a uniform offset field B_off along u_ref: −B_K − B_off, B_K − B_off, center −B_off."""
    from .stack import layer_average

    u = reference_direction(stack)
    free = stack.free_mask()
    p = np.cross(u, [1.0, 0.0, 0.0])
    if np.linalg.norm(p) < 1e-6:
        p = np.cross(u, [0.0, 1.0, 0.0])
    p = p / np.linalg.norm(p)
    a = math.radians(float(tilt_deg))
    sim = stack.simulation(backend=backend)
    base = np.zeros(3) if stack.B_ext is None else np.asarray(stack.B_ext, float)
    names = [la.name for la in stack.free_layers()]

    def mean_free():
        return sum(layer_average(sim, stack, n) @ u * stack.mask(n).sum() for n in names) / free.sum()

    def reverses(s, b):
        m = stack.initial_m()
        m[:, free] = (s * math.cos(a) * u + math.sin(a) * p)[:, None]
        sim.m = m
        sim.B_ext = tuple(base - s * b * u)
        sim.relax(tol_torque=tol_torque, progress=False)
        return mean_free() * s < 0

    out = {}
    for key, s in (("P->AP", 1.0), ("AP->P", -1.0)):
        lo, hi = 0.0, float(B_max)
        if reverses(s, lo):
            raise ValueError(f"{key}: the free layer reverses without applied field (the offset field exceeds B_K)")
        if not reverses(s, hi):
            raise ValueError(f"{key}: the free layer does not reverse at B_max = {B_max:g} T: raise B_max")
        while hi - lo > rtol * hi:
            mid = 0.5 * (lo + hi)
            if reverses(s, mid):
                hi = mid
            else:
                lo = mid
        out[key] = -s * 0.5 * (lo + hi)
    out["center"] = 0.5 * (out["P->AP"] + out["AP->P"])
    out["half_width"] = 0.5 * (out["AP->P"] - out["P->AP"])
    return out


# ---------------------------------------------------------------------------------------------- summary, CLI
def stack_summary(stack, T=300.0, simulate=False, backend="auto", P=0.6, Lambda=1.0):
    """Everything above for one stack, as a JSON-ready dict: the offset field (mean, dipolar, interlayer; T),
    the free layer's macrospin, Δ_P and Δ_AP at T (K), Ic0 both ways (A, spin polarization ``P``,
    Slonczewski asymmetry ``Lambda``), and the spin-flop field of every antiferromagnetically coupled pair (T).
    Parts that do not apply (no reference layer, no AF pair) are left out."""
    out = {"layers": [{"name": la.name, "role": la.role, "thickness_m": la.thickness, "fixed": la.fixed,
                       "planes": list(stack.planes(la.name))} for la in stack.layers],
           "grid": {"n": list(stack.grid.n), "cell_m": list(stack.grid.cell)}}
    if stack.free_layers():
        off = offset_field(stack)
        out["offset_field_T"] = {"mean": off.mean.tolist(), "dipolar": off.dipolar.tolist(),
                                 "interlayer": off.interlayer.tolist()}
        ms = free_layer_macrospin(stack)
        out["free_layer"] = {"V_m3": ms.V, "Ms_A_per_m": ms.Ms, "K_eff_J_per_m3": ms.K_eff, "B_K_T": ms.B_K,
                             "alpha": ms.alpha}
        if any(la.role == "reference" for la in stack.layers) and ms.K_eff > 0:
            d = delta_P_AP(stack, T, simulate=simulate, backend=backend)
            out["delta"] = {"T_K": float(T), "h": d["h"], "macrospin": d["macrospin"]}
            if simulate:
                out["delta"]["simulated"] = d["simulated"]
            out["Ic0_A"] = {k: v for k, v in critical_currents(stack, P=P, Lambda=Lambda).items() if k != "B_par"}
    flops = {}
    for a, b, J1, J2 in stack.couplings:
        if J1 < 0 and J2 == 0:
            try:
                flops[f"{a}-{b}"] = saf_spin_flop_field(stack, a, b)
            except ValueError as exc:
                flops[f"{a}-{b}"] = f"n/a: {exc}"
    if flops:
        out["spin_flop_field_T"] = flops
    return out


def add_stack_parser(sub):
    """``micromag stack SPEC.toml [--T K] [--simulate] [--json FILE]``: the stack report of a ``[stack]`` table."""
    p = sub.add_parser("stack", help="what a multilayer stack does to its free layer: offset field, Δ_P/Δ_AP, Ic0, "
                       "SAF spin-flop (the [stack] table of a TOML file)")
    p.add_argument("spec", help="a TOML file with a [stack] table (see micromag.apps.stack.Stack.from_dict)")
    p.add_argument("--T", type=float, default=300.0, help="temperature of Δ, K (default 300)")
    p.add_argument("--simulate", action="store_true", help="Δ_P and Δ_AP also from minimum-energy paths")
    p.add_argument("--json", default=None, help="write the summary to this file")
    p.set_defaults(func=_cli)
    return p


def _cli(args):
    import json

    from .stack import Stack

    summary = stack_summary(Stack.from_toml(args.spec), T=args.T, simulate=args.simulate)
    text = json.dumps(summary, indent=1)
    if args.json:
        from ..engine.io.atomic import atomic_write

        atomic_write(args.json, lambda f: f.write(text.encode()))
    print(text)
    return 0
