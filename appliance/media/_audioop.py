"""One import of ``audioop`` for the whole media package.

The stdlib module is deprecated in 3.11-3.12 and removed in 3.13; the ``audioop-lts``
distribution provides the same module under the same import name for 3.13+.  Importing
it here, once, keeps the deprecation warning out of every caller's log.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import audioop  # noqa: F401  (re-exported)
    except ImportError as exc:  # Python 3.13+ without the backport
        raise ImportError(
            "appliance.media needs audioop: on Python 3.13+ install audioop-lts"
        ) from exc

__all__ = ["audioop"]
