"""Scenario files: schema, defaults, overrides, error messages, building a run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from satsim.scenario import Scenario, ScenarioError, load_scenario, scenario_yaml, with_overrides
from satsim.scenario.build import build, shares_by_population

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"


def write(tmp_path, text: str, name: str = "s.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def problems_of(exc_info) -> list[tuple[str, str, str]]:
    return exc_info.value.problems


def test_shipped_default_file_is_the_embedded_default():
    assert load_scenario(SCENARIOS / "default.yaml") == Scenario()
    assert load_scenario() == Scenario()


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_validates(path):
    import yaml
    f = ((yaml.safe_load(path.read_text()) or {}).get("constellation") or {}).get("file")
    if f and not (path.parent / f).is_file():
        pytest.skip(f"{path.name} reads {f}, the real TLE snapshots outside the repository, "
                    "absent here (a clone without ../shared)")
    sc = load_scenario(path)
    assert sc.name == path.stem


def test_resolved_yaml_round_trips(tmp_path):
    sc = load_scenario(None, overrides=["duration_s=3600", "services.voice.enabled=true",
                                        "handsets.placement=points",
                                        "handsets.points=[{lat_deg: 40, lon_deg: -100}]"])
    again = load_scenario(write(tmp_path, scenario_yaml(sc)))
    assert again == sc


def test_default_build_matches_the_orbit_layer_defaults():
    from satsim.link.config import LinkConfig
    from satsim.orbits.defaults import conus_handsets
    from satsim.scenario.model import SCENARIO_HANDSET_SPACING_KM

    inputs = build(load_scenario(None, overrides={"duration_s": 600}))
    assert len(inputs.constellation) == 648
    h = conus_handsets(SCENARIO_HANDSET_SPACING_KM)
    np.testing.assert_array_equal(inputs.handsets.lat_deg, h.lat_deg)
    assert len(inputs.handsets) == 362
    assert len(inputs.times) == 61 and inputs.times.step_s == 10.0
    # the link layer's defaults: Earth-fixed cells, the DTC array, PCS G block
    assert inputs.link == LinkConfig()
    assert inputs.link.beams.mode == "earth_fixed"
    assert inputs.link.payload.antenna == "rectangular"
    assert inputs.link.payload.eirp_dbw(5e6) == pytest.approx(58.0, abs=0.01)
    assert inputs.link.carrier.dl_center_hz == 1992.5e6
    assert inputs.services == ("sms",)
    assert inputs.scheduler.voice is None and inputs.scheduler.data is None


def test_overrides_reach_nested_and_list_keys():
    sc = load_scenario(None, overrides=["constellation.walker.0.altitude_km=550",
                                        "link.min_elevation_deg=30", "seed=7"])
    assert sc.constellation.walker[0].altitude_km == 550.0
    assert sc.constellation.walker[1].altitude_km == 358.0
    assert sc.link.min_elevation_deg == 30.0 and sc.seed == 7
    sc2 = with_overrides(sc, {"services.data.enabled": True})
    assert sc2.services.data.enabled and not sc.services.data.enabled


def test_unknown_key_names_line_and_suggests(tmp_path):
    p = write(tmp_path, "name: x\nlink:\n  min_elevaton_deg: 30\n")
    with pytest.raises(ScenarioError) as e:
        load_scenario(p)
    (where, key, msg), = problems_of(e)
    assert where == f"{p}, line 3"
    assert key == "link.min_elevaton_deg"
    assert "did you mean `min_elevation_deg`?" in msg


def test_every_problem_reported_at_once_with_lines(tmp_path):
    p = write(tmp_path, "\n".join([
        "name: x",
        "duration_s: -5",                     # line 2: negative duration
        "handsets:",
        "  placement: points",
        "  points:",
        "    - {lat_deg: 95, lon_deg: 10}",   # line 6: latitude out of range
        "services:",
        "  sms:",
        "    mo_per_hour: lots",              # line 9: wrong type
        "constellation:",
        "  file: missing.tle",                # line 11: no such file
    ]) + "\n")
    with pytest.raises(ScenarioError) as e:
        load_scenario(p)
    got = {key: (where, msg) for where, key, msg in problems_of(e)}
    assert got["duration_s"][0].endswith("line 2") and "greater than 0" in got["duration_s"][1]
    assert got["handsets.points.0.lat_deg"][0].endswith("line 6")
    assert "less than or equal to 90" in got["handsets.points.0.lat_deg"][1]
    assert got["services.sms.mo_per_hour"][0].endswith("line 9")
    assert "valid number" in got["services.sms.mo_per_hour"][1]
    assert got["constellation.file"][0].endswith("line 11")
    assert "does not exist" in got["constellation.file"][1]
    assert str(tmp_path / "missing.tle") in got["constellation.file"][1]


def test_step_longer_than_duration_is_refused():
    with pytest.raises(ScenarioError) as e:
        load_scenario(None, overrides=["duration_s=60", "step_s=120"])
    (where, key, msg), = problems_of(e)
    assert where == "--set step_s" and key == "step_s" and "longer than duration_s" in msg


def test_yaml_syntax_error_names_line(tmp_path):
    p = write(tmp_path, "name: x\nlink:\n  min_elevation_deg: [30\n")
    with pytest.raises(ScenarioError, match=r"line \d+, column \d+: not valid YAML"):
        load_scenario(p)


def test_duplicate_key_is_refused(tmp_path):
    p = write(tmp_path, "name: x\nseed: 1\nseed: 2\n")
    with pytest.raises(ScenarioError, match=r"line 3: seed: duplicate key 'seed' \(first on line 2\)"):
        load_scenario(p)


def test_placement_needs_its_keys():
    with pytest.raises(ScenarioError, match="placement 'random' needs count and box"):
        load_scenario(None, overrides={"handsets.placement": "random"})


def test_bad_override_syntax():
    with pytest.raises(ScenarioError, match="expected KEY.PATH=VALUE"):
        load_scenario(None, overrides=["duration_s"])
    with pytest.raises(ScenarioError, match="index 5 does not exist"):
        load_scenario(None, overrides=["constellation.walker.5.altitude_km=500"])


def test_paths_resolve_relative_to_the_scenario_file(tmp_path, shared_tle_dir):
    sub = tmp_path / "study"
    sub.mkdir()
    tle = shared_tle_dir / "iridium-NEXT_2025-300.tle"
    (tmp_path / "sats.tle").write_bytes(tle.read_bytes())
    p = write(sub, "name: x\nconstellation:\n  file: ../sats.tle\n")
    sc = load_scenario(p)
    assert sc.constellation.file == (tmp_path / "sats.tle").resolve()
    assert sc.constellation.walker is None
    assert len(build(sc).constellation) > 60


def test_constellation_file_with_bad_entries_names_the_line(tmp_path):
    bad = tmp_path / "bad.tle"
    bad.write_text("SAT\n1 25544U 98067A   25299.5 bad\n2 25544  51.6\n")
    p = write(tmp_path, "name: x\nconstellation:\n  file: bad.tle\n")
    with pytest.raises(ScenarioError, match=r"(?s)constellation\.file.*bad\.tle, line 2"):
        build(load_scenario(p))


def test_cities_share_handsets_by_population_and_reproduce():
    assert shares_by_population(10, [3, 1, 1]).tolist() == [6, 2, 2]
    assert shares_by_population(7, [1, 1]).sum() == 7
    over = {"handsets.placement": "cities", "handsets.count": 300, "handsets.radius_km": 20,
            "handsets.cities": [{"name": "A", "lat_deg": 40, "lon_deg": -100, "population": 2},
                                {"name": "B", "lat_deg": 30, "lon_deg": -90, "population": 1}]}
    h1 = build(load_scenario(None, overrides=over | {"duration_s": 60})).handsets
    h2 = build(load_scenario(None, overrides=over | {"duration_s": 60})).handsets
    np.testing.assert_array_equal(h1.lat_deg, h2.lat_deg)
    assert len(h1) == 300
    # every handset within 20 km of its city (great-circle distance)
    lat0 = np.r_[np.full(200, 40.0), np.full(100, 30.0)]
    lon0 = np.r_[np.full(200, -100.0), np.full(100, -90.0)]
    p1, p2, dl = np.radians(lat0), np.radians(h1.lat_deg), np.radians(h1.lon_deg - lon0)
    d_km = 6371.0 * np.arccos(np.clip(np.sin(p1) * np.sin(p2)
                                      + np.cos(p1) * np.cos(p2) * np.cos(dl), -1, 1))
    assert d_km.max() <= 20.1
    h3 = build(load_scenario(None, overrides=over | {"duration_s": 60, "seed": 1})).handsets
    assert not np.array_equal(h1.lat_deg, h3.lat_deg)


def test_schema_documents_every_field():
    schema = Scenario.model_json_schema()
    assert schema["additionalProperties"] is False

    def undocumented(s, defs, path=""):
        out = []
        for name, prop in s.get("properties", {}).items():
            if "description" not in prop and "$ref" not in prop and "anyOf" not in prop:
                out.append(path + name)
        return out

    missing = undocumented(schema, schema["$defs"])
    for name, d in schema["$defs"].items():
        missing += undocumented(d, schema["$defs"], name + ".")
    assert not missing, f"fields without a description: {missing}"
    json.dumps(schema)


def test_with_overrides_takes_the_cli_form_too():
    sc = with_overrides(Scenario(), ["constellation.walker.1.altitude_km=500", "seed=3"])
    assert sc.constellation.walker[1].altitude_km == 500.0 and sc.seed == 3
