"""One declaration per setting: the scenario schema's sections are the runtime
settings classes, so defaults, ranges and descriptions cannot drift apart."""

from __future__ import annotations

import dataclasses

import pytest

from satsim._settings import fields_of
from satsim.errors import InputError
from satsim.scenario import Scenario, load_scenario
from satsim.scenario import model as schema
from satsim.scenario.build import build
from satsim.link.config import (
    BeamSettings,
    Carrier,
    HandsetRadio,
    LinkConfig,
    LinkSettings,
    Losses,
    Propagation,
    SatellitePayload,
)
from satsim.scheduler.config import (
    AppCallConfig,
    BeamAccess,
    BeamConfig,
    DataConfig,
    SchedulerConfig,
    SmsConfig,
    VoiceConfig,
)

#: scenario section class -> (runtime settings classes it is made of, fields only the
#: scenario has, with the reason)
SECTIONS = {
    schema.SmsSpec: ((SmsConfig,), {"enabled": "off: SmsConfig with no traffic"}),
    schema.VoiceSpec: ((VoiceConfig,), {"enabled": "off: SchedulerConfig.voice is None"}),
    schema.DataSpec: ((DataConfig,), {"enabled": "off: SchedulerConfig.data is None"}),
    schema.AppCallSpec: ((AppCallConfig,), {"enabled": "off: SchedulerConfig.app_call is None"}),
    schema.BeamsSpec: ((BeamSettings, BeamAccess), {}),
}

#: scenario sections that *are* a runtime settings class, and where it lands in a run
SAME_CLASS = {
    "carrier": (Carrier, "link.carrier"),
    "satellite": (SatellitePayload, "link.payload"),
    "link": (LinkSettings, None),
    "losses": (Losses, None),
}


def _names(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


@pytest.mark.parametrize("section", list(SECTIONS), ids=lambda c: c.__name__)
def test_every_section_field_has_one_runtime_counterpart(section):
    runtime, schema_only = SECTIONS[section]
    runtime_names = [_names(cls) for cls in runtime]
    # no field is claimed by two runtime classes, and together they cover the section
    assert sum(len(n) for n in runtime_names) == len(set().union(*runtime_names))
    assert _names(section) == set().union(*runtime_names) | set(schema_only)


@pytest.mark.parametrize("section", list(SECTIONS), ids=lambda c: c.__name__)
def test_section_fields_are_the_runtime_declarations(section):
    """Same default, range and description: the section inherits the declaration."""
    runtime, _ = SECTIONS[section]
    mine = fields_of(section)
    for cls in runtime:
        for name, info in fields_of(cls).items():
            assert mine[name].default == info.default, name
            assert mine[name].description == info.description, name
            assert mine[name].metadata == info.metadata, name


def test_beams_section_carries_the_scheduler_access_settings():
    assert _names(BeamAccess) <= _names(schema.BeamsSpec)
    for name in _names(BeamAccess):
        assert fields_of(schema.BeamsSpec)[name].description == \
            fields_of(BeamAccess)[name].description


def test_default_scenario_builds_the_documented_runtime_defaults():
    sc = load_scenario(None, overrides={"duration_s": 600, "services.voice.enabled": True,
                                        "services.data.enabled": True})
    inputs = build(sc)
    assert inputs.scheduler == SchedulerConfig(beams=BeamConfig(carrier=inputs.link.carrier),
                                               sms=SmsConfig(), voice=VoiceConfig(),
                                               data=DataConfig())


def test_services_switched_off_build_no_service():
    inputs = build(load_scenario(None, overrides={"duration_s": 600,
                                                  "services.sms.enabled": False}))
    assert inputs.scheduler.sms.mo_per_hour == 0 and inputs.scheduler.sms.mt_per_hour == 0
    assert inputs.scheduler.voice is None and inputs.scheduler.data is None


def test_schema_and_runtime_give_the_same_rule_and_meaning():
    """A value refused in Python is refused in a scenario, and both messages name
    the field, the rule and what the field means."""
    with pytest.raises(InputError) as direct:
        VoiceConfig(t310_s=-1.0)
    msg = str(direct.value)
    assert "voice.t310_s" in msg and "greater than or equal to 0" in msg and "T310" in msg
    with pytest.raises(InputError) as in_file:
        load_scenario(None, overrides={"services.voice.t310_s": -1.0})
    msg = str(in_file.value)
    assert "services.voice.t310_s" in msg and "greater than or equal to 0" in msg
    assert "T310" in msg


def test_settings_are_frozen_and_replace_revalidates():
    sms = SmsConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        sms.mo_per_hour = 3.0  # type: ignore[misc]
    assert dataclasses.replace(sms, mo_per_hour=3.0).mo_per_hour == 3.0
    with pytest.raises(InputError, match="sms.mo_per_hour"):
        dataclasses.replace(sms, mo_per_hour=-3.0)


def test_unknown_setting_names_the_valid_ones():
    with pytest.raises(InputError, match="unknown setting.*mo_per_hour"):
        SmsConfig(mo_per_hr=1.0)  # type: ignore[call-arg]


def test_nan_and_inf_refused_unless_a_field_means_no_limit():
    with pytest.raises(InputError, match="sms.mo_per_hour"):
        SmsConfig(mo_per_hour=float("nan"))
    assert BeamAccess(rach_per_s=float("inf")).rach_per_s == float("inf")
    with pytest.raises(InputError, match="rach_per_s"):
        BeamAccess(rach_per_s=float("nan"))


def test_scenario_default_is_built_from_the_declarations():
    sc = Scenario()
    assert SmsConfig(**{n: getattr(sc.services.sms, n) for n in _names(SmsConfig)}) == SmsConfig()


def test_walker_shells_of_a_scenario_are_the_orbit_layer_shells():
    from satsim.orbits.defaults import DTC_SHELLS
    from satsim.orbits.walker import WalkerShell

    shells = Scenario().constellation.walker
    assert all(type(s) is WalkerShell for s in shells) and tuple(shells) == DTC_SHELLS
    with pytest.raises(InputError) as err:
        load_scenario(None, overrides={"constellation.walker.0.altitude_km": 100})
    assert "constellation.walker.0.altitude_km" in str(err.value)
    assert "greater than or equal to 150" in str(err.value)


@pytest.mark.parametrize("key", list(SAME_CLASS))
def test_radio_sections_are_the_link_settings_classes(key):
    cls, _ = SAME_CLASS[key]
    assert Scenario.model_fields[key].annotation is cls
    assert type(getattr(Scenario(), key)) is cls


def test_link_config_extends_the_link_section_and_the_handset_radio_is_one_class():
    assert _names(LinkSettings) <= _names(LinkConfig)
    assert type(Scenario().handsets.radio) is HandsetRadio
    assert _names(Losses) | {"environment"} == _names(Propagation)
    env = fields_of(Propagation)["environment"]
    assert Scenario.model_fields["environment"].default == env.default
    assert Scenario.model_fields["environment"].description == env.description


def test_default_scenario_builds_the_default_link_config():
    inputs = build(load_scenario(None, overrides={"duration_s": 600}))
    assert inputs.link == LinkConfig()


def test_a_value_no_union_member_takes_is_one_problem_listing_each_rule():
    with pytest.raises(InputError) as err:
        load_scenario(None, overrides={"losses.atmospheric": -1, "beams.rings": -2})
    problems = err.value.problems
    assert [key for _, key, _ in problems].count("losses.atmospheric") == 1
    msg = dict((key, m) for _, key, m in problems)["beams.rings"]
    assert "greater than or equal to 0" in msg and "'cover'" in msg
