"""sqlite-utils, imported without numpy.

sqlite-utils imports numpy at start-up whenever it is installed, only to convert numpy
values in inserts, which callbox never makes.  numpy is here for the analog lines' echo
canceller alone, and importing it costs about 30 MB of resident memory on every box,
analog line or not.  So sqlite-utils is imported while ``import numpy`` is made to fail;
the echo canceller still imports numpy normally when an analog line needs it.
"""

import sys

_hidden = "numpy" not in sys.modules
if _hidden:
    sys.modules["numpy"] = None  # type: ignore[assignment]  # `import numpy` -> ImportError
try:
    import sqlite_utils
finally:
    if _hidden:
        del sys.modules["numpy"]

__all__ = ["sqlite_utils"]
