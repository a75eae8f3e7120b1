"""Translatable texts for the server's code: ``_l`` and ``_lp`` from admission.text (they live
below the server, so the admission core shares them; see there)."""
from admission.text import LazyText, _l, _lp  # noqa: F401
