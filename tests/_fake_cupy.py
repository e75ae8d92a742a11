"""A stand-in for CuPy and the GPU, for a dry run of tests/test_gpu.py on a machine without one.

Importing this module installs a NumPy-backed ``cupy`` module (the few functions the GPU tests call) and
replaces the GPU device by the host emulation, so the GPU test file runs end to end in CI
(tests/test_gpu_dryrun.py): its API use and logic stay right between the sessions that have a GPU. What it
cannot check is CuPy itself (RawModule, cuFFT plans, graph capture): that is the GPU check's job."""
import sys
import types

import numpy as np

fake = types.ModuleType("cupy")
fake.asarray = lambda a, dtype=None: np.array(a, dtype=dtype)  # a copy, as to a device
for name in ("zeros", "full", "nan", "float32", "float64", "empty_like", "isfinite", "all", "ndarray",
             "cross", "where", "sqrt", "maximum", "minimum", "empty", "ones"):
    setattr(fake, name, getattr(np, name))
fake.asnumpy = lambda a: np.asarray(a)
cuda = types.SimpleNamespace()
cuda.runtime = types.SimpleNamespace(getDeviceCount=lambda: 1, memGetInfo=lambda: (8 << 30, 16 << 30))


class _Stream:
    def synchronize(self):
        pass


cuda.get_current_stream = lambda: _Stream()
fake.cuda = cuda
sys.modules["cupy"] = fake

import micromag.engine.backends as mb  # noqa: E402
import micromag.engine.backends.cuda as mc  # noqa: E402
import micromag.engine.backends.device as md  # noqa: E402


def _emu(block=256):
    return md.EmulatedDevice(block=32, max_blocks=4)


md.cupy_device = _emu
mc.cupy_device = _emu
mc.gpu_available = lambda: True
md.gpu_available = lambda: True
mb.gpu_status = lambda: (True, "")
