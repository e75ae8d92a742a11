#!/usr/bin/env bash
# The whole GPU check in one command, from the repository root or anywhere:
#
#     bash benchmarks/gpu_check.sh            # < 8 min on an H100: GPU tests, kernel tests, full benchmark
#     bash benchmarks/gpu_check.sh --quick    # < 2 min: GPU tests, quick benchmark (no kernel tests, no peers)
#
# Any further arguments go to benchmarks/bench_gpu.py (e.g. --dtype float64, --no-peers, --json PATH).
# Writes benchmarks/results/gpu-check-<UTC stamp>.log and the benchmark's JSON
# (benchmarks/results/<device>-<date>.json); where $OUT is set (the device machine), copies both there.
# Exit status: 1 if any test run failed (the benchmark still runs), 3 if there is no GPU (CuPy missing or no
# device: the GPU tests were skipped), else the benchmark's status.
# Environment: PYTHON (default python3), MICROMAG_COMMIT (recorded when the tree has no .git),
# GPU_CHECK_TOTAL_S (the whole run's wall budget in seconds; default 420, quick 110).
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
ROOT=$PWD
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
command -v "$PY" >/dev/null 2>&1 || PY=python

QUICK=""
ARGS=()
for a in "$@"; do
    if [ "$a" = "--quick" ]; then QUICK="--quick"; else ARGS+=("$a"); fi
done
if [ -n "$QUICK" ]; then TOTAL=${GPU_CHECK_TOTAL_S:-110}; else TOTAL=${GPU_CHECK_TOTAL_S:-420}; fi

START=$(date +%s)
mkdir -p benchmarks/results
MARK=$(mktemp)  # files newer than this were written by this run
STAMP=$(date -u +%Y%m%d-%H%M%S)
LOG="benchmarks/results/gpu-check-$STAMP${QUICK:+-quick}.log"
: >"$LOG"
log() { echo "$@" | tee -a "$LOG"; }
left() { echo $((TOTAL - ($(date +%s) - START))); }

if [ -z "${MICROMAG_COMMIT:-}" ]; then
    MICROMAG_COMMIT=$(git rev-parse HEAD 2>/dev/null || true)
    export MICROMAG_COMMIT
fi

log "== micromag GPU check ${QUICK:-(full)}  $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit ${MICROMAG_COMMIT:-unknown}"
{
    if command -v nvidia-smi >/dev/null 2>&1; then nvidia-smi; else echo "nvidia-smi: not found"; fi
    echo "g++: $(command -v g++ || echo 'not found (the emulation tests need it)')"
    "$PY" - <<'EOF'
import platform, sys
print("python", platform.python_version(), sys.executable)
for name in ("numpy", "scipy", "pytest", "cupy", "torch", "magnumnp", "mumaxplus"):
    try:
        mod = __import__(name)
        print(f"{name:10s} {getattr(mod, '__version__', '?')}")
    except Exception as exc:
        print(f"{name:10s} not importable ({type(exc).__name__}: {str(exc)[:100]})")
try:
    import cupy
    rt = cupy.cuda.runtime
    name = rt.getDeviceProperties(0)["name"]
    print("device    ", name.decode() if isinstance(name, bytes) else name,
          "| driver", rt.driverGetVersion(), "| runtime", rt.runtimeGetVersion())
except Exception as exc:
    print("device     none:", type(exc).__name__, str(exc)[:200])
EOF
} 2>&1 | tee -a "$LOG"

FAIL=0
NOGPU=0
if ! "$PY" -c "import sys; from micromag.engine.backends.cuda import gpu_available as g; sys.exit(0 if g() else 1)" 2>/dev/null; then
    NOGPU=1
    log "== WARNING: no GPU (CuPy not importable or no CUDA device): the GPU tests will be skipped"
fi
# 1. the GPU tests: every test file that carries the gpu marker (collecting all of tests/ would import
#    modules whose optional dependencies, vtk or meshio, the GPU machine lacks)
GPU_FILES=$(grep -l "mark.gpu" tests/*.py 2>/dev/null | tr '\n' ' ')
[ -n "$GPU_FILES" ] || GPU_FILES="tests/test_gpu.py"
log "== GPU tests: pytest -m gpu $GPU_FILES"
T=$(( $(left) / 3 )); [ "$T" -lt 60 ] && T=60
set -o pipefail
timeout -k 10 "$T" "$PY" -m pytest -m gpu $GPU_FILES -q -p no:cacheprovider -rs 2>&1 | tee -a "$LOG"
RC=$?
log "== GPU tests exit status $RC"
[ "$RC" -ne 0 ] && FAIL=1

# 2. the kernel tests that need no GPU (NVRTC compilation of every variant, host emulation vs NumPy)
if [ -z "$QUICK" ]; then
    KFILES=""
    for f in tests/test_kernels_nvrtc.py tests/test_kernels_emulation.py; do [ -f "$f" ] && KFILES="$KFILES $f"; done
    if [ -n "$KFILES" ]; then
        log "== kernel tests: pytest$KFILES"
        T=$(( $(left) / 2 )); [ "$T" -lt 60 ] && T=60
        timeout -k 10 "$T" "$PY" -m pytest $KFILES -q -p no:cacheprovider -rs 2>&1 | tee -a "$LOG"
        RC=$?
        log "== kernel tests exit status $RC"
        [ "$RC" -ne 0 ] && FAIL=1
    fi
else
    log "== kernel tests: skipped with --quick"
fi

# 3. the benchmark, with what is left of the budget (it skips or cuts sections to stay inside it)
B=$(( $(left) - 15 )); [ "$B" -lt 30 ] && B=30
JSON_DEFAULT=1
for a in "${ARGS[@]+"${ARGS[@]}"}"; do [ "$a" = "--json" ] && JSON_DEFAULT=0; done
log "== benchmark: bench_gpu.py $QUICK --budget $B ${ARGS[*]+"${ARGS[*]}"}"
timeout -k 10 $((B + 90)) "$PY" benchmarks/bench_gpu.py $QUICK --budget "$B" "${ARGS[@]+"${ARGS[@]}"}" 2>&1 | tee -a "$LOG"
BRC=$?
log "== benchmark exit status $BRC; total $(( $(date +%s) - START )) s"

if [ -n "${OUT:-}" ] && [ -d "${OUT:-}" ]; then
    cp "$LOG" "$OUT/" 2>/dev/null
    if [ "$JSON_DEFAULT" = 1 ]; then
        # the newest result JSON written by this run
        for j in $(find benchmarks/results -maxdepth 1 -name '*.json' -newer "$MARK" 2>/dev/null | head -n 4); do
            cp "$j" "$OUT/" 2>/dev/null
        done
    fi
fi

rm -f "$MARK"
if [ "$FAIL" -ne 0 ]; then
    log "== GPU check: TESTS FAILED (see $LOG)"
    exit 1
fi
if [ "$NOGPU" -ne 0 ]; then
    log "== GPU check: NO GPU, nothing on the GPU was checked (exit 3)"
    exit 3
fi
log "== GPU check: tests passed"
exit "$BRC"
