"""The run's random-stream registry (satsim.streams): keys, independence, reproducibility."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from satsim.errors import InputError
from satsim.link.losses import SHADOWING_STREAM, channel_draws
from satsim.streams import STREAMS, check_seed, stream, stream_key


def test_streams_are_keyed_by_name_and_index():
    a = stream(7, "sms/mo/arrivals", 3).random(4)
    np.testing.assert_array_equal(a, stream(7, "sms/mo/arrivals", 3).random(4))
    assert not np.array_equal(a, stream(7, "sms/mo/arrivals", 4).random(4))
    assert not np.array_equal(a, stream(8, "sms/mo/arrivals", 3).random(4))
    # spawn_key (k, i) is child i of child k, as SeedSequence.spawn builds them
    np.testing.assert_array_equal(np.random.SeedSequence(7).spawn(3)[2].generate_state(4),
                                  np.random.SeedSequence(7, spawn_key=(2,)).generate_state(4))
    parent = np.random.SeedSequence(7, spawn_key=(stream_key("sms/mo/arrivals"),))
    np.testing.assert_array_equal(a, np.random.default_rng(parent.spawn(4)[3]).random(4))
    with pytest.raises(KeyError, match="unregistered"):
        stream(7, "voice/arrivals")


def test_every_stream_has_its_own_key():
    keys = [stream_key(n) for n in STREAMS]
    assert len(set(keys)) == len(keys)
    for name in STREAMS:
        assert name.count("/") >= 1 and STREAMS[name]  # "layer/purpose", described


def test_keys_are_crc32_of_the_name_except_the_channel_stream():
    for name in STREAMS:
        if name != "link/channel":
            assert stream_key(name) == zlib.crc32(name.encode("utf-8"))
    # the channel stream kept the key it had before the registry (TR 38.811's number)
    assert stream_key("link/channel") == SHADOWING_STREAM == 38811


def test_every_layer_draws_from_the_registry():
    for name in ("handsets/placement", "link/channel", "sms/mo/arrivals", "sms/mt/arrivals",
                 "voice/attempts", "voice/holding", "data/sessions", "data/sizes"):
        assert name in STREAMS


def test_channel_draws_come_from_the_registered_stream():
    """Same draws as before the registry: SeedSequence(seed, spawn_key=(38811,))."""
    d = channel_draws(5, 3, 4)
    rng = stream(5, "link/channel")
    np.testing.assert_array_equal(d.u_los, rng.random((3, 4)))
    np.testing.assert_array_equal(d.z_shadow, rng.standard_normal((3, 4)))
    old = np.random.default_rng(np.random.SeedSequence(5, spawn_key=(38811,)))
    np.testing.assert_array_equal(d.u_los, old.random((3, 4)))


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3", None])
def test_check_seed_refuses_what_is_not_a_whole_number(bad):
    with pytest.raises(InputError, match="seed must be a whole number"):
        check_seed(bad)


def test_check_seed_accepts_numpy_integers():
    assert check_seed(np.int64(4)) == 4 and isinstance(check_seed(np.int64(4)), int)
