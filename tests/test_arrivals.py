"""Traffic arrivals drawn in blocks of handsets (``satsim.scheduler.arrivals``):
Poisson processes per handset, independent of the handset count."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from satsim.scheduler.arrivals import BLOCK_HANDSETS, handset_arrivals, handset_draws


def _exp(rng, n):
    return rng.exponential(100.0, n)


@pytest.mark.parametrize("n_small", [1, BLOCK_HANDSETS - 1, BLOCK_HANDSETS + 3])
def test_a_handsets_arrivals_and_marks_do_not_depend_on_the_handset_count(n_small):
    n_big = 3 * BLOCK_HANDSETS + 17
    hb, tb = handset_arrivals(5, "voice/attempts", n_big, 4.0, 0.0, 7200.0)
    hs, ts = handset_arrivals(5, "voice/attempts", n_small, 4.0, 0.0, 7200.0)
    mb = handset_draws(5, "voice/holding", hb, n_big, _exp)
    ms = handset_draws(5, "voice/holding", hs, n_small, _exp)
    keep = hb < n_small
    np.testing.assert_array_equal(hs, hb[keep])
    np.testing.assert_array_equal(ts, tb[keep])
    np.testing.assert_array_equal(ms, mb[keep])
    # sorted by handset, then time; another stream name draws other times
    assert np.all(np.diff(hb) >= 0)
    assert np.all((np.diff(tb) >= 0) | (np.diff(hb) > 0))
    other = handset_arrivals(5, "data/sessions", n_big, 4.0, 0.0, 7200.0)[1]
    assert not np.array_equal(other[:50], tb[:50])


def test_each_handset_is_a_poisson_process_of_the_rate():
    """Counts per handset: mean and variance both rate x span (Poisson, index of
    dispersion 1), counts of two handsets uncorrelated, times uniform on the span
    (Kolmogorov-Smirnov), the same seed the same draws."""
    n, rate_h, span = 20_000, 3.0, 7200.0
    h, t = handset_arrivals(11, "sms/mo/arrivals", n, rate_h, 100.0, 100.0 + span)
    counts = np.bincount(h, minlength=n)
    mean = rate_h * span / 3600.0                                # 6 per handset
    assert counts.mean() == pytest.approx(mean, abs=4 * np.sqrt(mean / n))
    assert counts.var() / counts.mean() == pytest.approx(1.0, abs=0.05)
    r = np.corrcoef(counts[0::2], counts[1::2])[0, 1]
    assert abs(r) < 4 / np.sqrt(n / 2)
    assert stats.kstest((t - 100.0) / span, "uniform").pvalue > 1e-3
    h2, t2 = handset_arrivals(11, "sms/mo/arrivals", n, rate_h, 100.0, 100.0 + span)
    np.testing.assert_array_equal(t, t2)


def test_a_daily_profile_thins_the_arrivals_by_hour():
    """With 24 hourly weights the expected share of arrivals in hour k is weight k
    / sum of weights (here the day starts at 06:00 UTC)."""
    weights = np.ones(24)
    weights[[6, 7]] = [4.0, 0.0]
    n, rate_h = 4000, 1.0
    h, t = handset_arrivals(3, "data/sessions", n, rate_h, 0.0, 86400.0, profile=weights,
                            day_offset_s=6 * 3600.0)
    hour = ((6 * 3600.0 + t) // 3600.0).astype(int) % 24
    seen = np.bincount(hour, minlength=24)
    assert seen[7] == 0
    expect = len(t) * weights / weights.sum()
    assert stats.chisquare(seen[weights > 0], expect[weights > 0]).pvalue > 1e-3
    # the profile is normalised to mean 1: the daily mean rate stays rate_per_hour
    assert len(t) / n == pytest.approx(24 * rate_h, abs=4 * np.sqrt(24 * rate_h / n))
