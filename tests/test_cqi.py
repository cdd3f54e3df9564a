"""CQI table, SINR-to-CQI mapping and rate per resource block.

Reference: 3GPP TS 36.213 Table 7.2.3-1 (= TS 38.214 Table 5.2.2.1-2) and the
Vienna LTE system-level simulator SINR thresholds (SISO AWGN, 10 % BLER), both
as transcribed in ``shared/reference/NTN_REFERENCE.md`` section 3.
"""

from __future__ import annotations

import numpy as np
import pytest

from satsim.errors import InputError
from satsim.link.cqi import (
    CQI_BITS_PER_SYMBOL,
    CQI_CODE_RATE_X1024,
    CQI_EFFICIENCY,
    CQI_MIN_SINR_DB,
    CQI_MODULATION,
    DEFAULT_OVERHEAD_FRACTION,
    MAX_CQI,
    RATE_BPS_PER_RB,
    cqi_from_sinr_db,
    efficiency_from_cqi,
    rate_bps_per_rb,
)

# NTN_REFERENCE.md section 3, CQI 1..15, copied from the reference file.
REF_MODULATION = ["QPSK"] * 6 + ["16QAM"] * 3 + ["64QAM"] * 6
REF_CODE_RATE_X1024 = [78, 120, 193, 308, 449, 602, 378, 490, 616, 466, 567, 666, 772, 873, 948]
REF_EFFICIENCY = [0.1523, 0.2344, 0.3770, 0.6016, 0.8770, 1.1758, 1.4766, 1.9141, 2.4063,
                  2.7305, 3.3223, 3.9023, 4.5234, 5.1152, 5.5547]
REF_MIN_SINR_DB = [-6.934, -5.147, -3.18, -1.254, 0.761, 2.70, 4.697, 6.528, 8.576, 10.37,
                   12.3, 14.18, 15.89, 17.82, 19.83]


def test_table_matches_reference_file():
    assert CQI_MODULATION[0] == "none" and list(CQI_MODULATION[1:]) == REF_MODULATION
    assert CQI_CODE_RATE_X1024[0] == 0 and list(CQI_CODE_RATE_X1024[1:]) == REF_CODE_RATE_X1024
    assert CQI_EFFICIENCY[0] == 0.0 and list(CQI_EFFICIENCY[1:]) == REF_EFFICIENCY
    assert CQI_MIN_SINR_DB[0] == -np.inf and list(CQI_MIN_SINR_DB[1:]) == REF_MIN_SINR_DB
    assert all(len(a) == 16 for a in (CQI_MODULATION, CQI_CODE_RATE_X1024, CQI_EFFICIENCY,
                                      CQI_MIN_SINR_DB, CQI_BITS_PER_SYMBOL))


def test_efficiency_is_bits_times_code_rate_to_printed_precision():
    # TS 36.213 prints efficiency = bits/symbol x rate/1024 rounded to 4 decimals.
    exact = CQI_BITS_PER_SYMBOL * CQI_CODE_RATE_X1024 / 1024.0
    np.testing.assert_allclose(CQI_EFFICIENCY, exact, atol=0.5e-4)


def test_tables_are_read_only():
    with pytest.raises(ValueError):
        CQI_EFFICIENCY[3] = 9.0


def test_thresholds_and_efficiency_increase_monotonically():
    assert np.all(np.diff(CQI_MIN_SINR_DB) > 0)
    assert np.all(np.diff(CQI_EFFICIENCY) > 0)


@pytest.mark.parametrize("cqi", range(1, 16))
def test_sinr_exactly_at_a_threshold_gives_that_cqi(cqi):
    t = CQI_MIN_SINR_DB[cqi]
    assert cqi_from_sinr_db(t) == cqi
    assert cqi_from_sinr_db(np.nextafter(t, -np.inf)) == cqi - 1


def test_below_cqi1_huge_and_nan():
    got = cqi_from_sinr_db([-6.935, -40.0, -np.inf, np.nan, 19.83, 25.0, 1e9, np.inf])
    assert got.tolist() == [0, 0, 0, 0, 15, 15, 15, 15]
    assert got.dtype.kind == "i"


def test_shape_is_kept():
    sinr = np.linspace(-10.0, 25.0, 24).reshape(2, 3, 4)
    got = cqi_from_sinr_db(sinr)
    assert got.shape == (2, 3, 4)
    assert np.all(np.diff(got.ravel()) >= 0)
    assert cqi_from_sinr_db(5.0).shape == ()
    assert cqi_from_sinr_db(5.0) == 7  # 4.697 <= 5.0 < 6.528


def test_efficiency_from_cqi():
    assert efficiency_from_cqi(0) == 0.0
    assert efficiency_from_cqi(15) == 5.5547
    np.testing.assert_array_equal(efficiency_from_cqi([[1, 7], [10, 15]]),
                                  [[0.1523, 1.4766], [2.7305, 5.5547]])
    np.testing.assert_array_equal(efficiency_from_cqi(np.array([3.0])), [0.3770])


def test_rate_per_rb_for_cqi15_by_hand():
    # 5.5547 bit/RE x 12 subcarriers x 14 symbols x 1000 subframes/s = 933,189.6 bit/s raw;
    # the default overhead keeps 120 of the 168 REs: 5.5547 x 120 x 1000 = 666,564 bit/s.
    assert DEFAULT_OVERHEAD_FRACTION == pytest.approx(48 / 168)
    assert rate_bps_per_rb(15) == pytest.approx(666_564.0, rel=1e-12)
    assert rate_bps_per_rb(15, overhead_fraction=0.0) == pytest.approx(933_189.6, rel=1e-12)
    assert rate_bps_per_rb(15, overhead_fraction=0.25) == pytest.approx(699_892.2, rel=1e-12)
    assert rate_bps_per_rb(0) == 0.0
    assert rate_bps_per_rb([1, 15]).shape == (2,)


def test_rate_table_is_the_default_rate_of_every_cqi():
    """The scheduler's one table: rate_bps_per_rb of CQI 0..15 exactly, read-only."""
    assert RATE_BPS_PER_RB.shape == (MAX_CQI + 1,)
    np.testing.assert_array_equal(RATE_BPS_PER_RB, rate_bps_per_rb(np.arange(MAX_CQI + 1)))
    assert RATE_BPS_PER_RB[MAX_CQI] == rate_bps_per_rb(MAX_CQI)
    with pytest.raises(ValueError):
        RATE_BPS_PER_RB[3] = 1.0


@pytest.mark.parametrize("bad", [-1, 16, 2.5, np.nan, "7", [3, 17]])
def test_bad_cqi_is_an_input_error(bad):
    with pytest.raises(InputError, match="cqi"):
        efficiency_from_cqi(bad)


@pytest.mark.parametrize("bad", [-0.1, 1.0, float("nan"), "0.2"])
def test_bad_overhead_is_an_input_error(bad):
    with pytest.raises(InputError, match="overhead_fraction"):
        rate_bps_per_rb(15, overhead_fraction=bad)
