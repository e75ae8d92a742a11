"""A small real run with periodic checkpoints, for the kill-and-resume test of tests/test_reliability.py.

    python _resume_worker.py OUT NCHUNKS

Runs NCHUNKS chunks of CHUNK s into OUT (table every EVERY s, snapshots every SNAP s), writing
OUT/ckpt.pkl after each chunk; if OUT/ckpt.pkl exists it continues from there (load_checkpoint +
append=True), which is the documented resume path. ``run_all`` does the same in-process (the reference).
"""
import os
import sys

CHUNK, EVERY, SNAP = 10e-12, 2e-12, 4e-12


def build():
    import micromag as mm

    grid = mm.Grid(n=(8, 8, 1), cell=(4e-9, 4e-9, 3e-9))
    sim = mm.Simulation(grid, material=mm.Permalloy(alpha=0.05), backend="cpu")
    sim.m = (1, 0.3, 0.1)
    sim.B_ext = (0.0, 0.05, 0.0)
    return sim


def run_all(out, nchunks, say=None):
    import micromag as mm

    ckpt = os.path.join(out, "ckpt.pkl")
    if os.path.exists(ckpt):
        sim, append = mm.Simulation.load_checkpoint(ckpt), True
    else:
        os.makedirs(out, exist_ok=True)
        sim, append = build(), True  # append: a killed first attempt may have left a table behind
        sim.save_checkpoint(ckpt)  # t = 0: every later start has a checkpoint to continue from
        sim = mm.Simulation.load_checkpoint(ckpt)
    if say:
        say(round(sim.t / CHUNK))
    for _ in range(round(sim.t / CHUNK), nchunks):
        sim.run(CHUNK, out=out, every=EVERY, snapshot_every=SNAP, progress=False, append=append)
        sim.save_checkpoint(ckpt)
    return sim


if __name__ == "__main__":
    def ready(k):
        print("ready", k, flush=True)

    run_all(sys.argv[1], int(sys.argv[2]), say=ready)
    print("done", flush=True)
