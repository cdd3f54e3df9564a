"""The link timeline: what every handset experiences at every time step.

This is the link layer's contract with the scheduler. For a chunk of time
steps, :class:`LinkChunk` holds arrays of shape ``(ntime, nh)``:

==========================  =======  ==============================================
field                       dtype    meaning
==========================  =======  ==============================================
``serving_sat``             int32    satellite index (constellation order), -1 none
``serving_beam``            int32    beam index of that satellite, -1 none
``dl_snr_db``               float32  downlink SNR of the serving beam, dB
``dl_sinr_db``              float32  downlink SINR (co-channel beams interfere), dB
``ul_snr_db``               float32  uplink SNR at the serving beam, dB
``cqi``                     int8     TS 36.213 CQI from the SINR (0: out of range)
``spectral_eff``            float32  bits per resource element of that CQI
``elevation_deg``           float32  elevation of the serving satellite
``delay_s``                 float32  one-way delay to the serving satellite
``residual_doppler_hz``     float32  Doppler left after the satellite pre-compensates
                                     for its beam centre
``differential_delay_s``    float32  delay relative to the beam centre, one way
``status``                  uint8    :data:`LINK_STATUS` code; 0 = served
``n_visible``               int16    satellites at or above the serving elevation
                                     mask (served or not)
==========================  =======  ==============================================

plus ``handovers``: one row per change of a served handset's (satellite,
beam) between consecutive steps at which it was served, and
:meth:`LinkChunk.beam_load`: how many handsets each (step, satellite, beam)
serves, as a table of the beams in use (sparse: never a dense steps x
satellites x beams array). Values are NaN / -1 where no satellite serves. With
Earth-fixed cells (``beams.mode: earth_fixed``) the beam index is the cell's. ``satsim.link.serve_links`` / ``iter_link_chunks`` produce
them from the orbit layer, one chunk of time at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..orbits.timegrid import TimeGrid
from . import _kernels
from .cqi import rate_bps_per_rb

#: Status codes per (time step, handset) (the kernel's integers, named).
SERVED = _kernels.SERVED
NO_SATELLITE = _kernels.NO_SATELLITE
NO_BEAM = _kernels.NO_BEAM
LOW_SINR = _kernels.LOW_SINR
DOPPLER = _kernels.DOPPLER
DELAY = _kernels.DELAY
UPLINK_DOPPLER = _kernels.UPLINK_DOPPLER
DOPPLER_RATE = _kernels.DOPPLER_RATE

#: Status code -> meaning, per (time step, handset).
LINK_STATUS = {
    SERVED: "served",
    NO_SATELLITE: "no satellite at or above the elevation mask",
    NO_BEAM: "outside every beam: the best beam's gain toward the handset is more than "
             "beam_edge_db below its peak",
    LOW_SINR: "downlink SINR below the lowest CQI threshold",
    DOPPLER: "downlink residual Doppler beyond what an unmodified phone acquires and tracks",
    DELAY: "differential delay beyond what an unmodified phone tolerates",
    UPLINK_DOPPLER: "uplink residual Doppler (twice the downlink's, scaled) beyond what the "
                    "satellite's receiver accepts",
    DOPPLER_RATE: "residual Doppler changing faster than an unmodified phone follows",
}

#: Short names of the status codes, for summaries and tables.
STATUS_NAMES = {SERVED: "served", NO_SATELLITE: "no_satellite", NO_BEAM: "no_beam",
                LOW_SINR: "low_sinr", DOPPLER: "doppler", DELAY: "delay",
                UPLINK_DOPPLER: "uplink_doppler", DOPPLER_RATE: "doppler_rate"}


@dataclass(frozen=True, eq=False)
class LinkChunk:
    """The link timeline for one chunk of time steps (see the module docstring)."""

    times: TimeGrid
    serving_sat: np.ndarray
    serving_beam: np.ndarray
    dl_snr_db: np.ndarray
    dl_sinr_db: np.ndarray
    ul_snr_db: np.ndarray
    cqi: np.ndarray
    spectral_eff: np.ndarray
    elevation_deg: np.ndarray
    delay_s: np.ndarray
    residual_doppler_hz: np.ndarray
    differential_delay_s: np.ndarray
    status: np.ndarray
    handovers: pd.DataFrame
    n_visible: np.ndarray | None = None

    @property
    def rate_per_rb_bps(self) -> np.ndarray:
        """Downlink bit rate one resource block carries at the serving CQI, bit/s
        (``satsim.link.cqi.rate_bps_per_rb``, default LTE overhead), ``(ntime, nh)``."""
        return rate_bps_per_rb(self.cqi)

    @property
    def served(self) -> np.ndarray:
        """True where the handset is served (status 0), ``(ntime, nh)``."""
        return self.status == SERVED

    def beam_load(self) -> pd.DataFrame:
        """Handsets served by each beam in use: one row per (step, satellite, beam)
        with at least one, columns ``time_s``, ``sat``, ``beam``, ``handsets``, by
        step, satellite and beam."""
        tt, hh = np.nonzero(self.served)
        keys = np.stack([tt, self.serving_sat[tt, hh], self.serving_beam[tt, hh]], axis=1)
        rows, counts = (np.unique(keys, axis=0, return_counts=True) if len(keys)
                        else (np.empty((0, 3), dtype=np.int64), np.empty(0, dtype=np.int64)))
        return pd.DataFrame({"time_s": self.times.offsets_s[rows[:, 0]],
                             "sat": rows[:, 1].astype(np.int32),
                             "beam": rows[:, 2].astype(np.int32),
                             "handsets": counts.astype(np.int32)})

