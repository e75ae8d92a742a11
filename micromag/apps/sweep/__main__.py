"""``python -m micromag.apps.sweep SPEC ...``: the same as ``micromag sweep``."""
import sys

from .cli import main

sys.exit(main())
