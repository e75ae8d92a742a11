import sys

from . import standalone

sys.exit(standalone())
