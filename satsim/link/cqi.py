"""Channel quality indicator (CQI): SINR to CQI, spectral efficiency and rate per resource block.

The 4-bit CQI table is 3GPP TS 36.213 Table 7.2.3-1 (LTE), which is the same
table as TS 38.214 Table 5.2.2.1-2 (NR, "CQI table 1"): for CQI 1..15 a
modulation, a code rate x 1024 and the resulting efficiency in information
bits per resource element (RE). CQI 0 means "out of range": nothing is sent.

The SINR a CQI needs is not in any 3GPP table. The thresholds here are those
of the Vienna LTE system-level simulator (TU Wien): the lowest SINR at which
each CQI reaches a 10 % block error rate in a SISO AWGN link, as tabulated in
``shared/reference/NTN_REFERENCE.md`` section 3. They are the usual choice of
system-level simulators and assume an ideal receiver; a real handset needs
about 1-3 dB more.

Every array below is indexed by the CQI itself (index 0 = CQI 0).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

#: Subcarriers per resource block (15 kHz spacing, 180 kHz), TS 36.211 Table 6.2.3-1.
SUBCARRIERS_PER_RB = 12
#: OFDM symbols per 1 ms subframe with the normal cyclic prefix, TS 36.211 §6.2.3.
SYMBOLS_PER_SUBFRAME = 14
#: Subframes per second.
SUBFRAMES_PER_S = 1000
#: Resource elements of one resource-block pair (one RB over one subframe).
RE_PER_RB_SUBFRAME = SUBCARRIERS_PER_RB * SYMBOLS_PER_SUBFRAME  # 168

#: Default share of the REs that carry no user data (LTE downlink), 48 / 168 = 0.2857:
#:
#: * control region of 3 OFDM symbols (PCFICH, PHICH, PDCCH; CFI = 3, the
#:   largest for channels wider than 1.4 MHz, TS 36.211 §6.7): 3 x 12 = 36 REs;
#: * cell-specific reference signals of 2 antenna ports (TS 36.211 §6.10.1.2):
#:   8 REs per port per RB pair, 16 in all, of which 4 lie in the control
#:   region already: 12 more REs.
#:
#: That leaves the textbook 120 data REs of 168. PBCH, PSS and SSS (only in the
#: central 6 RBs of 2 subframes in 10) and any SIB / paging load are ignored.
#: Pass ``overhead_fraction`` to :func:`rate_bps_per_rb` for other assumptions
#: (1 antenna port: 42 / 168 = 0.25).
DEFAULT_OVERHEAD_FRACTION = 48.0 / RE_PER_RB_SUBFRAME


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


#: Modulation of each CQI (TS 36.213 Table 7.2.3-1); "none" for CQI 0.
CQI_MODULATION = _frozen(np.array(
    ["none"] + ["QPSK"] * 6 + ["16QAM"] * 3 + ["64QAM"] * 6
))

#: Bits per modulation symbol of each CQI (0 for CQI 0).
CQI_BITS_PER_SYMBOL = _frozen(np.array([0] + [2] * 6 + [4] * 3 + [6] * 6))

#: Code rate x 1024 of each CQI (TS 36.213 Table 7.2.3-1); 0 for CQI 0.
CQI_CODE_RATE_X1024 = _frozen(np.array(
    [0, 78, 120, 193, 308, 449, 602, 378, 490, 616, 466, 567, 666, 772, 873, 948]
))

#: Efficiency, information bits per RE, as printed in TS 36.213 Table 7.2.3-1
#: (= bits per symbol x code rate / 1024, to 4 decimals); 0.0 for CQI 0.
CQI_EFFICIENCY = _frozen(np.array([
    0.0, 0.1523, 0.2344, 0.3770, 0.6016, 0.8770, 1.1758, 1.4766,
    1.9141, 2.4063, 2.7305, 3.3223, 3.9023, 4.5234, 5.1152, 5.5547,
]))

#: Lowest SINR, dB, at which each CQI reaches 10 % BLER (Vienna LTE system-level
#: simulator, SISO AWGN); ``-inf`` for CQI 0, which needs no SINR.
CQI_MIN_SINR_DB = _frozen(np.array([
    -np.inf, -6.934, -5.147, -3.18, -1.254, 0.761, 2.70, 4.697,
    6.528, 8.576, 10.37, 12.3, 14.18, 15.89, 17.82, 19.83,
]))

#: Highest CQI.
MAX_CQI = 15


def cqi_from_sinr_db(sinr_db) -> np.ndarray:
    """Highest CQI whose SINR threshold is at or below ``sinr_db``.

    Parameters
    ----------
    sinr_db : float or array_like
        SINR in dB, any shape.

    Returns
    -------
    numpy.ndarray of int64, same shape as ``sinr_db``
        CQI 0..15: 0 below the CQI 1 threshold (-6.934 dB) and for NaN;
        15 at or above 19.83 dB. A scalar input gives a 0-d array.
    """
    sinr = np.asarray(sinr_db, dtype=float)
    # Number of thresholds <= SINR is the CQI (thresholds ascend; NaN sorts last).
    cqi = np.searchsorted(CQI_MIN_SINR_DB[1:], sinr, side="right").astype(np.int64)
    return np.where(np.isnan(sinr), 0, cqi)


def _checked_cqi(cqi) -> np.ndarray:
    c = np.asarray(cqi)
    if c.dtype.kind not in "iu":
        if c.dtype.kind == "f" and np.all(np.isfinite(c)) and np.all(c == np.round(c)):
            c = c.astype(np.int64)
        else:
            raise InputError(f"cqi must be whole numbers 0..{MAX_CQI}, got {cqi!r}")
    if c.size and (c.min() < 0 or c.max() > MAX_CQI):
        raise InputError(
            f"cqi must be in 0..{MAX_CQI}, got values from {c.min()} to {c.max()}"
        )
    return c


def efficiency_from_cqi(cqi) -> np.ndarray:
    """Spectral efficiency of a CQI, information bits per resource element.

    Parameters
    ----------
    cqi : int or array_like of int
        CQI 0..15, any shape.

    Returns
    -------
    numpy.ndarray of float, same shape
        TS 36.213 Table 7.2.3-1 efficiency (0.0 for CQI 0).
    """
    return CQI_EFFICIENCY[_checked_cqi(cqi)]


def rate_bps_per_rb(cqi, overhead_fraction: float = DEFAULT_OVERHEAD_FRACTION) -> np.ndarray:
    """Information bit rate of one resource block held for every subframe, bit/s.

    ``efficiency x 12 subcarriers x 14 OFDM symbols x 1000 subframes/s
    x (1 - overhead_fraction)``: with the default overhead (48 of 168 REs,
    see :data:`DEFAULT_OVERHEAD_FRACTION`) CQI 15 gives 5.5547 x 120 x 1000
    = 666,564 bit/s per 180 kHz resource block.

    Parameters
    ----------
    cqi : int or array_like of int
        CQI 0..15, any shape.
    overhead_fraction : float
        Share of the REs that carry no user data, in [0, 1).

    Returns
    -------
    numpy.ndarray of float, same shape as ``cqi``
    """
    if not (isinstance(overhead_fraction, (int, float)) and 0.0 <= overhead_fraction < 1.0):
        raise InputError(
            f"overhead_fraction must be in [0, 1), got {overhead_fraction!r} "
            f"(the default {DEFAULT_OVERHEAD_FRACTION:.4f} is 48 of 168 REs)"
        )
    re_per_s = RE_PER_RB_SUBFRAME * SUBFRAMES_PER_S * (1.0 - overhead_fraction)
    return efficiency_from_cqi(cqi) * re_per_s


#: Information bit rate of one RB at each CQI with the default overhead, bit/s
#: (``rate_bps_per_rb(0..15)``, index = CQI; read-only): 0 for CQI 0, 666,564
#: for CQI 15.
RATE_BPS_PER_RB = _frozen(rate_bps_per_rb(np.arange(MAX_CQI + 1)))
