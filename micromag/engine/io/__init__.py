"""Input and output: ParaView (VTK XML) snapshots and OVF 2.0 files."""
