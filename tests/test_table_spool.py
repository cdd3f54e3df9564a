"""Tables kept on disk as they grow (satsim.results.table_spool, ``run.spool``):
exact percentiles without holding the values, gaps filed by handset range and
sorted back into the in-memory table, and the running statistics' spooled tables
equal to the in-memory ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from satsim.link.engine import iter_link_chunks
from satsim.results.summary import LinkStats, sample_handsets
from satsim.results.table_spool import (
    ParquetAppender,
    SpooledTables,
    exact_percentiles,
    order_key,
)
from satsim.scenario import Scenario, with_overrides
from satsim.scenario.build import build

QS = (0, 5, 50, 95, 99.9, 100)


def batched(x, size):
    return lambda: (x[i:i + size] for i in range(0, x.size, size))


@pytest.mark.parametrize("case", ["ties", "spread", "signed", "one", "two", "tiny"])
def test_exact_percentiles_are_numpys(case):
    rng = np.random.default_rng(7)
    x = {"ties": rng.integers(0, 40, 10_001) * 10.0,          # gaps at 10 s steps
         "spread": rng.lognormal(3.0, 1.5, 20_000),
         "signed": np.r_[rng.normal(0, 1e-3, 5_000), -0.0, 0.0, -1e300, 1e300, 5e-324],
         "one": np.array([42.5]),
         "two": np.array([3.0, 1.0]),
         "tiny": rng.uniform(1.0, 1.0 + 1e-9, 999)}[case]     # one bin, values apart
    got = exact_percentiles(batched(x, 997), QS)
    for q in QS:
        assert got[q] == np.percentile(x, q), q               # the same float64


def test_exact_percentiles_of_nothing():
    assert exact_percentiles(lambda: iter([np.empty(0)]), (50,)) == {50: None}


def test_order_key_sorts_as_the_values():
    x = np.array([-np.inf, -1e300, -2.0, -5e-324, -0.0, 0.0, 5e-324, 1.0, 3.5, np.inf])
    k = order_key(x)
    assert np.all(k[1:] >= k[:-1]) and k[4] + 1 == k[5]


def test_appender_writes_row_groups_and_an_empty_table(tmp_path):
    f = ParquetAppender(tmp_path / "t.parquet", lambda: pd.DataFrame({"a": [], "k": []}))
    frames = [pd.DataFrame({"a": np.arange(3) + 3 * i,
                            "k": pd.Categorical.from_codes([0, 1, i % 2], ["x", "y"])})
              for i in range(4)]
    for df in frames:
        f.append(df)
    pd.testing.assert_frame_equal(pd.read_parquet(f.close()),
                                  pd.concat(frames, ignore_index=True))
    assert f.rows == 12
    empty = ParquetAppender(tmp_path / "e.parquet", lambda: pd.DataFrame({"a": []}))
    assert len(pd.read_parquet(empty.close())) == 0


def test_a_spool_folder_holding_its_names_is_refused(chunks, tmp_path):
    from satsim.errors import InputError

    inputs, _ = chunks
    (tmp_path / "handovers.parquet").write_bytes(b"a user's file")
    with pytest.raises(InputError, match="already holds handovers.parquet"):
        LinkStats(inputs.times, 3, sample_handsets(3, 0), spool=tmp_path)
    with pytest.raises(InputError, match="not a folder"):
        LinkStats(inputs.times, 3, sample_handsets(3, 0), spool=tmp_path / "nowhere")
    assert (tmp_path / "handovers.parquet").read_bytes() == b"a user's file"


def test_spooled_tables_act_as_a_mapping_and_clean_up(tmp_path):
    folder = tmp_path / "spool"
    folder.mkdir()
    pd.DataFrame({"a": [1, 2]}).to_parquet(folder / "g.parquet")
    (folder / "user.txt").write_text("not ours")
    t = SpooledTables({"m": pd.DataFrame({"b": [3]})}, {"g": folder / "g.parquet"}, folder,
                      order=["g", "m"])
    assert list(t) == ["g", "m"] and len(t) == 2 and "g" in t and "x" not in t
    assert t["g"]["a"].tolist() == [1, 2] and t.get("x") is None
    t["s"] = pd.DataFrame({"c": [1]})
    assert list(t) == ["g", "m", "s"] and t.path_of("s") is None
    del t
    import gc
    gc.collect()
    assert sorted(p.name for p in folder.iterdir()) == ["user.txt"]  # only its own files


@pytest.fixture(scope="module")
def chunks():
    """The Earth-fixed default over ~90 handsets, 20 min at 10 s in 3 chunks (gaps
    cross the chunk borders and stay open at the end)."""
    sc = with_overrides(Scenario(), {"duration_s": 1200.0, "step_s": 10.0,
                                     "run.chunk_steps": 50, "handsets.spacing_km": 300.0})
    inputs = build(sc)
    return inputs, list(iter_link_chunks(inputs.constellation, inputs.handsets, inputs.times,
                                         inputs.link, chunk_steps=50))


@pytest.mark.parametrize("range_handsets", [None, 7, 1])
def test_spooled_statistics_give_the_in_memory_tables(chunks, tmp_path, range_handsets):
    inputs, chs = chunks
    nh = len(inputs.handsets)
    mem = LinkStats(inputs.times, nh, sample_handsets(nh, 3))
    disk = LinkStats(inputs.times, nh, sample_handsets(nh, 3), spool=tmp_path,
                     gap_range_handsets=range_handsets)
    for ch in chs:
        mem.add(ch)
        disk.add(ch)
    want, got = mem.tables(inputs.handsets), disk.tables(inputs.handsets)
    assert list(got) == list(want)
    assert got.path_of("gaps") is not None and got.path_of("handsets") is None
    assert len(want["gaps"]) > 10 and want["gaps"]["censored"].any() and len(want["handovers"])
    for name in want:
        pd.testing.assert_frame_equal(got[name], want[name], check_exact=True, obj=name)
    assert disk.coverage_summary() == mem.coverage_summary() == \
        mem.coverage_summary(want["gaps"], want["handovers"])
    assert not list(tmp_path.glob("gaps-*.bin"))          # the range files are gone
