"""Filterbanks, registered with ``asteroid_filterbanks`` on import (``fb_name: CQTFB``)."""

import asteroid_filterbanks

from .cqt import CQTFB

# register_filterbank raises on a second registration (e.g. a module reload): guard it.
if getattr(asteroid_filterbanks, CQTFB.__name__, None) is None:
    asteroid_filterbanks.register_filterbank(CQTFB)

__all__ = ["CQTFB"]
