"""Render a micromag run with ParaView, offscreen: ``pvpython view.py RUN_DIR_OR_PVD [options]``.

Run by ``micromag view DIR`` (which finds ``pvpython``), or directly with ParaView's own Python::

    pvpython --force-offscreen-rendering view.py out/sp4 --out out/sp4/frames

What it shows (the picture a device engineer wants): the magnet's surface coloured by one component of m
(``m_z`` by default, blue -1 .. red +1, a fixed range so frames compare), arrows of m on a slice through
the middle of the layer, the simulated time in ns, the cell outline in nm. It writes one PNG per frame
(``frame_0000.png`` ...) and, with ``--movie NAME.avi``/``.ogv`` where ParaView can encode it, a movie.

This file runs inside pvpython: it imports ParaView only, not micromag (pvpython has its own Python).
"""
import argparse
import glob
import os
import sys


def _args(argv):
    p = argparse.ArgumentParser(prog="view.py", description=__doc__.splitlines()[0])
    p.add_argument("run", help="a run's output folder (holding a .pvd) or a .pvd / .vti file")
    p.add_argument("--out", default=None, help="folder for the PNG frames (default RUN/frames)")
    p.add_argument("--series", default=None, help="which .pvd in the folder (default: m.pvd, else the first)")
    p.add_argument("--color", default="m_z", help="cell array to colour the surface by (default m_z)")
    p.add_argument("--range", type=float, nargs=2, default=(-1.0, 1.0), metavar=("MIN", "MAX"),
                   help="colour range (default -1 1)")
    p.add_argument("--frames", default="all", help="'all', 'last', or every Nth frame ('every:5')")
    p.add_argument("--size", type=int, nargs=2, default=(1280, 720), metavar=("W", "H"))
    p.add_argument("--arrows", type=int, default=400, help="about how many arrows on the slice (0: none)")
    p.add_argument("--view", choices=("top", "iso"), default=None,
                   help="camera: 'top' (down -z, for films) or 'iso'; default top for a film, else iso")
    p.add_argument("--movie", default=None, help="also write a movie (.avi or .ogv) of the frames")
    p.add_argument("--title", default=None, help="text at the top left (default: the series name)")
    return p.parse_args(argv)


def _find_series(run, name):
    if os.path.isfile(run):
        return run
    if name:
        path = os.path.join(run, name if name.endswith(".pvd") else name + ".pvd")
        if not os.path.isfile(path):
            sys.exit(f"view.py: no series {path}")
        return path
    pvds = sorted(glob.glob(os.path.join(run, "*.pvd")))
    if not pvds:
        sys.exit(f"view.py: no .pvd series in {run} (run the simulation with snapshot_every=...)")
    return next((p for p in pvds if os.path.basename(p) == "m.pvd"), pvds[0])


def main(argv=None):
    a = _args(sys.argv[1:] if argv is None else argv)
    from paraview import simple as pv

    src_path = _find_series(a.run, a.series)
    out = a.out or os.path.join(a.run if os.path.isdir(a.run) else os.path.dirname(src_path), "frames")
    os.makedirs(out, exist_ok=True)
    if src_path.endswith(".pvd"):
        src = pv.PVDReader(FileName=src_path)
    else:
        src = pv.XMLImageDataReader(FileName=[src_path])
    src.UpdatePipeline()
    cell_arrays = [src.CellData.GetArray(i).GetName() for i in range(len(src.CellData))]
    if a.color not in cell_arrays:
        sys.exit(f"view.py: {src_path} has no cell array {a.color!r}; it has {cell_arrays}")
    info = src.GetDataInformation()
    x0, x1, y0, y1, z0, z1 = info.GetBounds()
    film = (z1 - z0) < 0.2 * max(x1 - x0, y1 - y0)
    times = list(getattr(src, "TimestepValues", []) or [])
    if not isinstance(times, list):
        times = [times]
    fd = src.FieldData
    unit = "nm"
    if "LengthUnit" not in [fd.GetArray(i).GetName() for i in range(len(fd))]:
        unit = "(file units)"  # a file written before micromag recorded nm

    view = pv.CreateView("RenderView")
    view.ViewSize = list(a.size)
    view.OrientationAxesVisibility = 1
    view.Background = [1, 1, 1]
    try:  # ParaView >= 5.10 keeps a palette; a plain white background reads best on a page
        view.UseColorPaletteForBackground = 0
    except AttributeError:
        pass

    # the magnet: vacuum cells are blanked in the file, so the surface is the magnet's
    surf = pv.Show(src, view)
    surf.SetRepresentationType("Surface")
    pv.ColorBy(surf, ("CELLS", a.color))
    lut = pv.GetColorTransferFunction(a.color)
    lut.ApplyPreset("Cool to Warm", True)
    lut.RescaleTransferFunction(*a.range)
    lut.AutomaticRescaleRangeMode = "Never"
    bar = pv.GetScalarBar(lut, view)
    bar.Title = a.color
    bar.ComponentTitle = ""
    bar.TitleColor = bar.LabelColor = [0, 0, 0]
    bar.Visibility = 1

    # arrows of m on a regular lattice in the mid-plane (m probed there; scaled by `magnetic`, so the
    # lattice points outside the magnet get no arrow)
    if a.arrows:
        w, h = x1 - x0, y1 - y0
        spread = (w * h / max(a.arrows, 1)) ** 0.5
        nax, nay = max(2, int(round(w / spread))), max(2, int(round(h / spread)))
        dx, dy = w / nax, h / nay
        zmid = 0.5 * (z0 + z1)
        probe = pv.ResampleToImage(Input=src)
        probe.UseInputBounds = 0
        probe.SamplingBounds = [x0 + dx / 2, x1 - dx / 2, y0 + dy / 2, y1 - dy / 2, zmid, zmid]
        probe.SamplingDimensions = [nax, nay, 1]
        gl = pv.Glyph(Input=probe, GlyphType="Arrow")
        gl.OrientationArray = ["POINTS", "m"]
        gl.ScaleArray = ["POINTS", "magnetic"]
        gl.GlyphMode = "All Points"
        gl.ScaleFactor = 0.85 * min(dx, dy)
        gl.GlyphType.TipRadius = 0.2
        gl.GlyphType.TipLength = 0.4
        gl.GlyphType.ShaftRadius = 0.07
        gl.GlyphTransform.Translate = [-0.5, 0, 0]  # centred on the lattice point, not starting there
        arrows = pv.Show(gl, view)
        arrows.ColorArrayName = ["POINTS", ""]  # solid
        arrows.AmbientColor = arrows.DiffuseColor = [0.1, 0.1, 0.1]
        if film:  # above the film's top face, so the surface does not hide them
            arrows.Position = [0, 0, (z1 - z0) * 0.5 + 0.5]

    # text: title, time in ns, length unit
    title = pv.Text(Text=a.title or os.path.splitext(os.path.basename(src_path))[0])
    tdisp = pv.Show(title, view)
    tdisp.WindowLocation = "Upper Left Corner"
    tdisp.Color = [0, 0, 0]
    tdisp.FontSize = 18
    if times:
        ann = pv.AnnotateTimeFilter(Input=src)
        ann.Format = "t = {time:.4f} ns"
        ann.Scale = 1e9  # the series' times are in s
        adisp = pv.Show(ann, view)
        adisp.WindowLocation = "Upper Right Corner"
        adisp.Color = [0, 0, 0]
        adisp.FontSize = 18
    axes = view.AxesGrid
    axes.Visibility = 1
    axes.XTitle, axes.YTitle, axes.ZTitle = f"x ({unit})", f"y ({unit})", f"z ({unit})"
    for attr in ("XTitleColor", "YTitleColor", "ZTitleColor", "XLabelColor", "YLabelColor", "ZLabelColor",
                 "GridColor"):
        setattr(axes, attr, [0.2, 0.2, 0.2])

    pv.Render(view)  # simple.Render resets the camera on a view's first render: do that one now
    view.ResetCamera()
    cam = view.GetActiveCamera()
    cx, cy, cz = 0.5 * (x0 + x1), 0.5 * (y0 + y1), 0.5 * (z0 + z1)
    size = max(x1 - x0, y1 - y0, z1 - z0)
    if (a.view or ("top" if film else "iso")) == "top":
        axes.FacesToRender = 0x04  # only the x-y face: x and y ticks, no z labels in a view down z
        axes.ZTitle = ""
        view.CameraParallelProjection = 1
        cam.SetFocalPoint(cx, cy, cz)
        cam.SetPosition(cx, cy, cz + 3 * size)
        cam.SetViewUp(0, 1, 0)
        aspect = a.size[0] / a.size[1]
        view.CameraParallelScale = 0.5 * max(y1 - y0, (x1 - x0) / (0.8 * aspect)) * 1.3  # room for the labels
        view.CameraFocalPoint = [cx, cy, cz]
        view.CameraPosition = [cx, cy, cz + 3 * size]
        view.CameraViewUp = [0, 1, 0]
    else:
        cam.SetFocalPoint(cx, cy, cz)
        cam.SetPosition(cx + 1.6 * size, cy - 2.0 * size, cz + 1.6 * size)
        cam.SetViewUp(0, 0, 1)
        view.ResetCamera()
        cam.Zoom(1.1)

    sel = list(range(len(times))) if times else [None]
    if times and a.frames == "last":
        sel = [len(times) - 1]
    elif times and a.frames.startswith("every:"):
        sel = list(range(0, len(times), max(1, int(a.frames.split(":")[1]))))
        if sel[-1] != len(times) - 1:
            sel.append(len(times) - 1)
    written = []
    for k, i in enumerate(sel):
        if i is not None:
            view.ViewTime = times[i]
        pv.Render(view)
        path = os.path.join(out, f"frame_{k:04d}.png")
        pv.SaveScreenshot(path, view, ImageResolution=list(a.size))
        written.append(path)
    print(f"view.py: {len(written)} frames of {src_path} -> {out}")
    if a.movie:
        scene = pv.GetAnimationScene()
        scene.UpdateAnimationUsingDataTimeSteps()
        try:
            pv.SaveAnimation(a.movie, view, ImageResolution=list(a.size), FrameRate=10)
            print(f"view.py: movie {a.movie}")
        except Exception as exc:  # a ParaView built without a movie writer: the PNGs are there
            print(f"view.py: no movie ({exc}); the PNG frames are in {out}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    try:
        code = main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (print(exc.code, file=sys.stderr) or 2)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    # leave without ParaView's teardown: under Xvfb it ends in "GLXBadContext" and exit status 1 after
    # every frame was written (ParaView 5.11, Debian)
    os._exit(code or 0)
