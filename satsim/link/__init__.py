"""Link layer: what a phone experiences from the satellites in view.

Models (each module cites its 3GPP source): ``antenna`` (TR 38.811 §6.4.1
circular aperture), ``beams`` (hexagonal beam layouts, reuse colouring),
``losses`` (TR 38.811 §6.6 path loss, LOS probability, shadowing, clutter,
atmosphere, scintillation), ``cqi`` (TS 36.213 CQI), ``budget`` (one-geometry
link budget as TR 38.821 Table 6.1.3.3-1), and ``timeline``: the per-(time,
handset) serving beam, SNR / SINR, CQI, phone checks and handovers.
"""

from .budget import LinkBudget, budget_table, link_budget
from .config import Carrier, HandsetRadio, LinkConfig, Propagation, SatellitePayload
from .engine import iter_link_chunks, serve_links
from .timeline import LINK_STATUS, LinkChunk

__all__ = [
    "LinkBudget", "budget_table", "link_budget", "Carrier", "HandsetRadio", "Propagation",
    "SatellitePayload", "LINK_STATUS", "LinkChunk", "LinkConfig", "iter_link_chunks",
    "serve_links",
]
