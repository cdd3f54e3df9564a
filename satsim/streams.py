"""The run's random streams: one seed per run, split into named streams.

Every random draw of a run comes from a stream registered in :data:`STREAMS`,
whatever the layer: handset placement (scenario), the channel's LOS and
shadowing draws (link), the traffic and service times (scheduler). A model
that needs randomness registers a new name here; it never draws from another
model's stream, so adding a model, a handset or a draw never changes the
draws of another, and a scenario plus a seed reproduces exactly.

``stream(seed, "sms/mo/arrivals", h)`` is the generator of
``SeedSequence(seed, spawn_key=(stream_key("sms/mo/arrivals"), h))``: the
child ``h`` of the child ``stream_key(name)`` that ``SeedSequence.spawn``
would create (numpy's ``spawn`` extends ``spawn_key`` by the child's index),
built directly without materialising the siblings. Streams are keyed by name
and index, not by creation order.

A stream's key is the CRC-32 of its name, except ``"link/channel"``, whose key
38811 (TR 38.811's number) predates the registry and is kept so that its draws
do not change. All keys are distinct (tested).
"""

from __future__ import annotations

import zlib

import numpy as np

from .errors import InputError

__all__ = ["STREAMS", "check_seed", "stream", "stream_key"]

#: Every stream of a run, by name: what it draws (sub-streams by index where said).
STREAMS = {
    # scenario
    "handsets/placement": "random handset positions of a scenario (random, cities)",
    # link
    "link/channel": "per (handset, satellite): LOS uniforms, then shadow-fading standard "
                    "normals (satsim.link.losses.channel_draws)",
    # scheduler: SMS
    "sms/mo/arrivals": "MO arrival times; sub-stream per block of handsets",
    "sms/mt/arrivals": "MT arrival times at the SMS centre; sub-stream per block of handsets",
    "sms/mo/service": "MO transfer times (exponential service model)",
    "sms/mt/service": "MT transfer times (exponential service model)",
    "sms/mo/failures": "random failures of MO attempts",
    "sms/mt/failures": "random failures of MT attempts",
    # scheduler: voice
    "voice/attempts": "call attempt times; sub-stream per block of handsets",
    "voice/holding": "call holding times (exponential); sub-stream per block of handsets",
    "app_call/attempts": "app call attempt times; sub-stream per block of handsets",
    "app_call/holding": "app call holding times (exponential); sub-stream per block of handsets",
    # scheduler: data
    "data/sessions": "data session arrival times; sub-stream per block of handsets",
    "data/sizes": "data session sizes; sub-stream per block of handsets",
    "data/directions": "data session directions (upload or download), one uniform per "
                       "session; sub-stream per block of handsets",
}

#: Keys that are not the CRC-32 of the name (fixed before the registry existed).
_FIXED_KEYS = {"link/channel": 38811}


def stream_key(name: str) -> int:
    """The spawn-key integer of a stream name: CRC-32 of its UTF-8 bytes, or its fixed key."""
    fixed = _FIXED_KEYS.get(name)
    return fixed if fixed is not None else zlib.crc32(name.encode("utf-8"))


def check_seed(seed) -> int:
    """``seed`` as an int, or InputError if it is not a whole number >= 0."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a whole number >= 0, got {seed!r}")
    return int(seed)


def stream(seed: int, name: str, *index: int) -> np.random.Generator:
    """The generator of stream ``name`` (and sub-stream ``index``) of the run ``seed``."""
    if name not in STREAMS:
        raise KeyError(f"unregistered random stream {name!r}; add it to satsim.streams.STREAMS")
    key = (stream_key(name), *(int(i) for i in index))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))
