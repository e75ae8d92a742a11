"""Every CUDA kernel source compiles with NVRTC for sm_80 and sm_90, float and double, in every term
combination the backend can ask for, with the exact options the CuPy backend uses at run time.

Needs no GPU: ``pip install cuda-bindings nvidia-cuda-nvrtc`` (skipped only if cuda.bindings is missing)."""
import itertools

import pytest

import gpu_kernels as gk

try:
    from micromag.backends.nvrtc_check import CHECK_ARCHS, RUNTIME_OPTIONS, NvrtcError, compile_with_log, load_nvrtc

    load_nvrtc()
except ImportError as exc:  # pragma: no cover - depends on the environment
    pytest.skip(f"cuda.bindings / NVRTC not available: {exc}", allow_module_level=True)

TERMS = list(gk.TERM_DEFINES)
BASE_TERMS = [t for t in TERMS if t not in gk.MRAM_TERMS]
SUBSETS = [c for r in range(len(BASE_TERMS) + 1) for c in itertools.combinations(BASE_TERMS, r)]
MRAM_SUBSETS = [c for r in range(len(gk.MRAM_TERMS) + 1) for c in itertools.combinations(gk.MRAM_TERMS, r)]
DTYPES = ["float32", "float64"]


def _compile(name, defines, arch):
    binary, log = compile_with_log(gk.assemble(name, defines), arch, RUNTIME_OPTIONS, name)
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
    thermal), in 64 compilations per arch and real type."""
    assert {m for _, m in PAIRED} == set(MRAM_SUBSETS) and {b for b, _ in PAIRED} == set(SUBSETS)
    for i, (base, mram) in enumerate(PAIRED):
        # alternate the field output so both variants are compiled across the subsets
        opts = ["MM_WRITE_FIELD"] if i % 2 else []
        _compile("llg_rhs.cu", gk.defines_for(dtype, base + mram, opts), arch)


OPTION_SETS = [
    ["MM_WRITE_FIELD", "MM_EXCHANGE_SCALE"],
    ["MM_ZEEMAN_SPATIAL"],
    ["MM_WRITE_FIELD", "MM_ZEEMAN_SPATIAL", "MM_ZEEMAN_SPATIAL_BATCH", "MM_EXCHANGE_SCALE"],
    ["MM_DEMAG_PLANES"],
    ["MM_DEMAG_PLANES", "MM_WRITE_FIELD", "MM_ZEEMAN_SPATIAL"],
    ["MM_STT_P_SPATIAL", "MM_ZHANGLI_SPATIAL"],
    ["MM_STT_P_SPATIAL", "MM_ZHANGLI_SPATIAL", "MM_ZHANGLI_SPATIAL_BATCH", "MM_DEMAG_PLANES", "MM_WRITE_FIELD"],
]


@pytest.mark.parametrize("arch", CHECK_ARCHS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("opts", OPTION_SETS, ids=["scale", "spatial", "all", "planes", "planes-field", "mram-spatial",
                                                   "mram-batch"])
def test_llg_rhs_options(arch, dtype, opts):
    _compile("llg_rhs.cu", gk.defines_for(dtype, TERMS, opts), arch)


@pytest.mark.parametrize("arch", CHECK_ARCHS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_rk_stage(arch, dtype):
    _compile("rk_stage.cu", gk.defines_for(dtype), arch)


@pytest.mark.parametrize("arch", CHECK_ARCHS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("thin", [False, True])
def test_demag_multiply(arch, dtype, thin):
    _compile("demag_multiply.cu", gk.defines_for(dtype, (), ["MM_DEMAG_THIN"] if thin else []), arch)


@pytest.mark.parametrize("arch", CHECK_ARCHS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_thermal_noise(arch, dtype):
    _compile("thermal_noise.cu", gk.defines_for(dtype), arch)


def test_every_shipped_kernel_source_is_checked():
    shipped = {p.name for p in gk.SOURCE_DIR.glob("*.cu")}
    assert shipped == set(gk.KERNELS)


def test_headers_compile_standalone():
    for h in sorted(gk.SOURCE_DIR.glob("*.cuh")):
        src = gk.assemble("common.cuh", {}) + gk.source_path(h.name).read_text().replace("#pragma once", "")
        if h.name != "common.cuh":
            compile_with_log(src, "sm_80", RUNTIME_OPTIONS, h.name)


def test_compile_error_carries_log():
    with pytest.raises(NvrtcError, match="undefined|identifier"):
        compile_with_log('extern "C" __global__ void k(float* a) { a[0] = nope; }', "sm_80")


def test_compiling_leaves_python_bytes_constants_alone():
    """NVRTC writes its log and binary into our buffers: they must be our own, never a shared bytes object
    (writing into b" " * 1, CPython's cached b" ", once broke every later text parser in the process)."""
    compile_with_log("__global__ void k() {}", "sm_80")
    assert b" " == bytes([32]) and b"a b".split(b" ") == [b"a", b"b"]
