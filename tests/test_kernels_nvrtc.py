"""Every CUDA kernel source compiles with NVRTC for sm_80 and sm_90, float and double, in every term
combination the backend can ask for, with the exact options the CuPy backend uses at run time.

Needs no GPU: ``pip install cuda-bindings nvidia-cuda-nvrtc`` (skipped only if cuda.bindings is missing)."""
import itertools

import pytest

import gpu_kernels as gk

try:
    from micromag.engine.backends.nvrtc_check import CHECK_ARCHS, RUNTIME_OPTIONS, NvrtcError, compile_with_log, load_nvrtc

    load_nvrtc()
except ImportError as exc:  # pragma: no cover - depends on the environment
    pytest.skip(f"cuda.bindings / NVRTC not available: {exc}", allow_module_level=True)

from micromag.engine.terms import material_parameters, term_class  # noqa: E402

BASE_TERMS = ["demag", "exchange", "anisotropy_uniaxial", "anisotropy_cubic", "dmi", "zeeman"]
MRAM_TERMS = ["oersted", "vcma", "thermal", "sot", "stt", "zhangli"]
SUBSETS = [c for r in range(len(BASE_TERMS) + 1) for c in itertools.combinations(BASE_TERMS, r)]
MRAM_SUBSETS = [c for r in range(len(MRAM_TERMS) + 1) for c in itertools.combinations(MRAM_TERMS, r)]
DTYPES = ["float32", "float64"]


def _defines(dtype, names, options=None, extra=()):
    """Defines and includes of the layout of ``names`` (in registry order), with term options
    {name: (option, ...)} and global switches ``extra`` -- exactly how CudaLLG builds them."""
    from micromag.engine.terms import order_of

    options = options or {}
    names = sorted(names, key=order_of)
    lay = gk.layout([(term_class(n), options.get(n, ())) for n in names], material_parameters())
    d = dict(gk.real_define(dtype))
    d.update(lay.defines())
    for e in extra:
        d[e] = 1
    return d, lay.includes


def _compile(name, defines, arch, includes=()):
    binary, log = compile_with_log(gk.assemble(name, defines, includes), arch, RUNTIME_OPTIONS, name)
    assert len(binary) > 0
    assert "warning" not in log.lower(), log
    return binary


# every base-term subset is compiled together with one subset of the MRAM device terms, paired by a
# permutation (37 is prime to 64) so that every MRAM subset is compiled too, with base subsets of every size
assert len(SUBSETS) == len(MRAM_SUBSETS) == 64
PAIRED = [(SUBSETS[i], MRAM_SUBSETS[(37 * i) % 64]) for i in range(64)]


@pytest.mark.parametrize("arch", CHECK_ARCHS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_llg_rhs_every_term_combination(arch, dtype):
    """Every subset of the base terms and every subset of the MRAM terms (sot, stt, zhangli, oersted, vcma,
    thermal), in 64 compilations per arch and real type, of both files that evaluate the RHS (llg_rhs.cu,
    with the observables kernel, and rk_stage.cu, alternately)."""
    assert {m for _, m in PAIRED} == set(MRAM_SUBSETS) and {b for b, _ in PAIRED} == set(SUBSETS)
    for i, (base, mram) in enumerate(PAIRED):
        extra = ["MM_WRITE_FIELD"] if i % 4 == 1 else ["MM_PARAMS_PER_MEMBER"] if i % 4 == 3 else []
        defs, inc = _defines(dtype, base + mram, extra=extra)
        _compile("llg_rhs.cu" if i % 2 == 0 else "rk_stage.cu", defs, arch, inc)


ALL = BASE_TERMS + MRAM_TERMS
OPTION_SETS = {
    "scale-ku2": ({"exchange": ("SCALE",), "anisotropy_uniaxial": ("KU2",)}, ["MM_WRITE_FIELD"]),
    "spatial": ({"zeeman": ("SPATIAL",)}, []),
    "spatial-batch": ({"zeeman": ("SPATIAL", "SPATIAL_BATCH"), "exchange": ("SCALE",)}, ["MM_WRITE_FIELD"]),
    "mram-spatial": ({"stt": ("P_SPATIAL",), "zhangli": ("SPATIAL",)}, ["MM_PARAMS_PER_MEMBER"]),
    "mram-batch": ({"stt": ("P_SPATIAL",), "zhangli": ("SPATIAL", "SPATIAL_BATCH")}, ["MM_WRITE_FIELD"]),
}


@pytest.mark.parametrize("arch", CHECK_ARCHS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(OPTION_SETS))
def test_options_of_every_term(arch, dtype, case):
    opts, extra = OPTION_SETS[case]
    defs, inc = _defines(dtype, ALL, opts, extra)
    _compile("llg_rhs.cu", defs, arch, inc)
    _compile("rk_stage.cu", defs, arch, inc)


@pytest.mark.parametrize("arch", CHECK_ARCHS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("thin", [False, True])
def test_demag_multiply(arch, dtype, thin):
    _compile("demag_multiply.cu", {**gk.real_define(dtype), **({"MM_DEMAG_THIN": 1} if thin else {})}, arch)


@pytest.mark.parametrize("arch", CHECK_ARCHS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_thermal_noise(arch, dtype):
    _compile("thermal_noise.cu", gk.real_define(dtype), arch)


def test_every_shipped_kernel_source_is_checked():
    shipped = {p.name for p in gk.SOURCE_DIR.glob("*.cu")}
    assert shipped == set(gk.KERNELS)


def test_every_term_kernel_file_is_a_registered_term():
    """Each term's .cuh belongs to a registered term (no orphan kernels), and each registered term's kernel
    exists (the contract: a term is its .py, its .cuh and one registry line)."""
    from micromag.engine.terms import registered

    kernels = {c.kernel for c in registered()}
    assert all(gk.source_path(k).is_file() for k in kernels)
    helpers = {"common.cuh", "philox.cuh", "rhs_common.cuh", "rk_common.cuh"}
    assert {p.name for p in gk.SOURCE_DIR.glob("*.cuh")} == kernels | helpers


def test_compile_error_carries_log():
    with pytest.raises(NvrtcError, match="undefined|identifier"):
        compile_with_log('extern "C" __global__ void k(float* a) { a[0] = nope; }', "sm_80")


def test_compiling_leaves_python_bytes_constants_alone():
    """NVRTC writes its log and binary into our buffers: they must be our own, never a shared bytes object
    (writing into b" " * 1, CPython's cached b" ", once broke every later text parser in the process)."""
    compile_with_log("__global__ void k() {}", "sm_80")
    assert b" " == bytes([32]) and b"a b".split(b" ") == [b"a", b"b"]
