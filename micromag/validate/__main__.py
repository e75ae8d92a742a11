import sys

from . import _standalone

sys.exit(_standalone())
