"""The phone's uplink as the services see it: per-RB SINR, the voice check, an app
call's uplink capacity (data uploads build their rate on the same per-RB SINR:
``satsim.scheduler.data.UplinkRate``).

The link timeline gives the uplink SINR of a served handset over its beam's whole
band (``LinkChunk.ul_sinr_db``: the phone's maximum power, the handset EIRP, spread
over all ``n_rb`` resource blocks of the band, against the satellite's G/T, with
Earth-fixed cells the phones of other co-channel cells added to the noise). A
phone rarely sends over the whole band: it concentrates its power in the RBs it
is granted.

Power concentration
-------------------
LTE uplink power control sets the PUSCH power from the number of allocated RBs
``M`` (TS 36.213 §5.1.1.1: ``P = min(P_CMAX, 10 log10 M + P_O_PUSCH + alpha PL
+ ...)`` dBm), capped by ``P_CMAX``, 23 dBm for a power-class 3 phone
(TS 36.101 §6.2.2). At a satellite's path loss every phone is at the cap, so it
sends ``P_CMAX / M`` per allocated RB whatever ``M`` is. Noise, and the other
phones' interference (each spread over the band, as the link layer assumes),
fall on each RB as ``1 / n_rb`` of the band's, so with ``M`` RBs::

    per-RB SINR(M) = ul_sinr_db + 10 log10(n_rb / M)           [dB]

(:func:`per_rb_sinr_db`); one RB gains ``10 log10 25 = 13.98`` dB on a 5 MHz
carrier. ``n_rb`` is the number of RBs of the band the link layer's SINR is
computed over: the beam's sub-band, ``carrier.beam_n_rb`` (``carrier.n_rb``
with reuse 1). The link's noise bandwidth is the channel's (5 MHz) while 25 RBs
fill 4.5 MHz; giving each RB ``1 / n_rb`` of it understates the per-RB SINR by
``10 log10(5 / 4.5) = 0.46`` dB (conservative).

Rate of M RBs
-------------
``M x rate_bps_per_rb(CQI(per-RB SINR(M)))``, with the downlink's CQI
thresholds and rate per RB (:mod:`satsim.link.cqi`: ``cqi_from_sinr_db``,
``RATE_BPS_PER_RB``) as a proxy for the uplink's MCS / TBS tables (TS 36.213
§8.6.1), which are not modelled. An approximation: an uplink RB pair carries
data in 144 of its 168 REs (the DMRS takes 2 of 14 SC-FDMA symbols, TS 36.211
§5.5.2.1.2), the downlink's default 120, so the proxy is about 17 % low per RB,
while PUCCH at the band's edges (TS 36.211 §5.4.3; a few of 25 RBs) takes
about that share of the band.

Uplink capacity
---------------
The most one phone can send, choosing the RBs it spreads its power over
(:func:`capacity_bps`)::

    capacity(ul_sinr_db) = max over M in 1..n_rb of M x rate(CQI(ul_sinr_db + 10 log10(n_rb / M)))

More RBs add bandwidth but lower each one's SINR; the best ``M`` depends on the
SINR. The capacity never falls as the SINR rises (every term is non-decreasing).
The sharing of a beam's uplink RBs among its phones is not modelled: each phone
is given the RBs it needs (an app call's capacity is its own, as if alone; a
voice call's uplink RBs are reserved with its downlink ones, see
:mod:`satsim.scheduler.voice`).

Quality class of a run
----------------------
The :class:`~satsim.scheduler.CoverageView` splits its runs where the CQI of the
one-RB per-RB SINR (:func:`ul_cqi_from_sinr_db`: ``ul_sinr_db + 10 log10
n_rb``) changes, and keeps that CQI and the run's mean ``ul_sinr_db``. Voice
with one RB per call (the default) and an app call's radio link (usable while
one RB reaches CQI 1) are decided exactly per sample by that class; the rest
(voice with other ``max_rbs_per_call``, a ``min_sinr_db`` floor, an app call's
capacity) reads the run's mean SINR, whose samples lie within one CQI step of
the one-RB SINR (about 2 dB), as the downlink's voice threshold does.

Units: SINRs in dB, rates in bit/s; arrays of any shape, element by element.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .._jit import njit
from ..errors import InputError
from ..link.cqi import CQI_MIN_SINR_DB, RATE_BPS_PER_RB, cqi_from_sinr_db


def checked_n_rb(n_rb) -> int:
    """``n_rb`` as an int, checked: a whole number >= 1 (the RBs of the band the
    carrier-wide uplink SINR is computed over)."""
    if isinstance(n_rb, bool) or not isinstance(n_rb, (int, np.integer)) or n_rb < 1:
        raise InputError(f"n_rb must be a whole number >= 1: the resource blocks of the band "
                         f"the uplink SINR is computed over (carrier.beam_n_rb, 25 for 5 MHz "
                         f"LTE with reuse 1), got {n_rb!r}")
    return int(n_rb)


@lru_cache(maxsize=None)
def rb_offsets_db(n_rb: int) -> np.ndarray:
    """``10 log10(n_rb / M)`` for ``M = 1..n_rb``, dB, read-only: the offsets
    :func:`per_rb_sinr_db` adds, each computed as it computes it (so
    ``x + rb_offsets_db(n)[M - 1]`` equals ``per_rb_sinr_db(x, n, M)`` bit for bit)."""
    n = checked_n_rb(n_rb)
    offsets = np.array([10.0 * np.log10(n / m) for m in range(1, n + 1)], dtype=np.float64)
    offsets.flags.writeable = False
    return offsets


def per_rb_sinr_db(ul_sinr_db, n_rb: int, m_rb: float = 1.0) -> np.ndarray:
    """Per-RB uplink SINR of a phone sending in ``m_rb`` of the band's ``n_rb`` RBs, dB:
    ``ul_sinr_db + 10 log10(n_rb / m_rb)`` (module docstring; TS 36.213 §5.1.1.1).

    ``ul_sinr_db`` is the carrier-wide uplink SINR, dB, any shape; ``m_rb`` > 0
    (a fraction of an RB is still sent in one RB: callers floor it at 1).
    """
    if not m_rb > 0:
        raise InputError(f"m_rb must be > 0 (resource blocks the phone sends in), got {m_rb!r}")
    return np.asarray(ul_sinr_db, dtype=np.float64) + 10.0 * np.log10(n_rb / m_rb)


def ul_cqi_from_sinr_db(ul_sinr_db, n_rb: int) -> np.ndarray:
    """CQI (0..15, int64) of the per-RB uplink SINR with the phone's power in one RB:
    the quality class the coverage view splits its runs on. 0 (NaN included): not
    even one RB reaches CQI 1 (-6.934 dB).

    ``cqi_from_sinr_db(per_rb_sinr_db(ul_sinr_db, n_rb, 1.0))`` (its numpy form, the
    tests' reference) in one numba pass: the same float64 sum per value and the
    same count of thresholds at or below it, without the float64 copy and the
    sorted search of every value (the coverage view classifies every sample)."""
    s = np.asarray(ul_sinr_db)
    if s.dtype.kind != "f":
        s = s.astype(np.float64)
    offset_db = 10.0 * np.log10(checked_n_rb(n_rb) / 1.0)  # as per_rb_sinr_db adds it
    flat = _one_rb_cqi_kernel(np.ascontiguousarray(s).ravel(), np.float64(offset_db),
                              CQI_MIN_SINR_DB[1:])
    return flat.reshape(s.shape)


@njit
def _one_rb_cqi_kernel(sinr_db, offset_db, thresholds_db):
    """:func:`ul_cqi_from_sinr_db` of each value (float32 or float64, summed in float64)."""
    out = np.empty(sinr_db.size, np.int64)
    for i in range(sinr_db.size):
        v = np.float64(sinr_db[i]) + offset_db
        cqi = 0  # thresholds at or below v (none for NaN), as cqi_from_sinr_db
        while cqi < thresholds_db.size and thresholds_db[cqi] <= v:
            cqi += 1
        out[i] = cqi
    return out


def capacity_bps(ul_sinr_db, n_rb: int) -> np.ndarray:
    """The phone's uplink capacity, bit/s: ``max over M in 1..n_rb of M x
    RATE_BPS_PER_RB[CQI(ul_sinr_db + 10 log10(n_rb / M))]`` (module docstring).

    ``ul_sinr_db``: carrier-wide uplink SINR, dB, any shape (NaN: 0). One pass over
    the values in numba (:func:`_capacity_kernel`), bit-identical to the numpy form
    (:func:`_capacity_numpy`: one pass per ``M``, kept as the tests' reference).
    """
    s = np.asarray(ul_sinr_db, dtype=np.float64)
    offsets_db = rb_offsets_db(checked_n_rb(n_rb))  # exactly as per_rb_sinr_db adds them
    assert np.all(np.diff(offsets_db) < 0)  # what _capacity_kernel's walk relies on
    flat = _capacity_kernel(np.ascontiguousarray(s).ravel(), offsets_db, CQI_MIN_SINR_DB[1:],
                            RATE_BPS_PER_RB)
    return flat.reshape(s.shape)


@njit
def _capacity_kernel(sinr_db, offsets_db, thresholds_db, rate_bps_per_rb):
    """:func:`capacity_bps` of each value. ``offsets_db`` (one per ``M``) must
    decrease (``10 log10(n_rb / M)`` does), so the CQI of ``x + offsets_db[m]``
    (the thresholds at or below it, as ``cqi_from_sinr_db`` counts them) never
    rises with ``m``: each ``M`` walks down from the CQI of the one before
    instead of up from 0 (the same CQI, a few comparisons instead of up to 15).
    NaN meets no threshold: the first walk goes down to CQI 0 and stays."""
    out = np.empty(sinr_db.size)
    nthr = thresholds_db.size
    for i in range(sinr_db.size):
        best = 0.0
        x = sinr_db[i]
        cqi = nthr
        for m in range(offsets_db.size):
            v = x + offsets_db[m]
            while cqi > 0 and not thresholds_db[cqi - 1] <= v:
                cqi -= 1
            r = (m + 1) * rate_bps_per_rb[cqi]
            if r > best:
                best = r
        out[i] = best
    return out


def _capacity_numpy(ul_sinr_db, n_rb: int) -> np.ndarray:
    """:func:`capacity_bps` in numpy, one pass per ``M`` (the kernel's reference)."""
    s = np.asarray(ul_sinr_db, dtype=np.float64)
    best = np.zeros(s.shape)
    for m in range(1, checked_n_rb(n_rb) + 1):
        np.maximum(best, m * RATE_BPS_PER_RB[cqi_from_sinr_db(per_rb_sinr_db(s, n_rb, m))],
                   out=best)
    return best
