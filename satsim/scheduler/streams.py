"""Named random streams: one seeded generator per scenario, split by purpose.

``stream(seed, "sms/mo/arrivals", h)`` is the generator of the
``SeedSequence(seed, spawn_key=(crc32("sms/mo/arrivals"), h))``, i.e. the
child ``h`` of the child ``crc32(name)`` that ``SeedSequence.spawn`` would
create (numpy's ``spawn`` extends ``spawn_key`` by the child's index), built
directly without materialising the siblings. Streams are therefore keyed by
name and index, not by creation order: adding a service, a handset or a draw
elsewhere never changes another stream's draws, and a scenario plus a seed
reproduces exactly. The link layer's shadowing stream uses
``spawn_key=(38811,)`` (``satsim.link.losses.SHADOWING_STREAM``); CRC-32 keys
of the names here differ from it (tested).
"""

from __future__ import annotations

import zlib

import numpy as np

from ..errors import InputError


#: Every stream the scheduler draws from (a new model registers its names here).
STREAMS = {
    "sms/mo/arrivals": "MO arrival times; sub-stream per handset",
    "sms/mt/arrivals": "MT arrival times at the SMS centre; sub-stream per handset",
    "sms/mo/service": "MO transfer times (exponential service model)",
    "sms/mt/service": "MT transfer times (exponential service model)",
    "sms/mo/failures": "random failures of MO attempts",
    "sms/mt/failures": "random failures of MT attempts",
    "voice/attempts": "call attempt times; sub-stream per handset",
    "voice/holding": "call holding times (exponential); sub-stream per handset",
    "data/sessions": "data session arrival times; sub-stream per handset",
    "data/sizes": "data session sizes; sub-stream per handset",
    "handsets/placement": "random handset positions of a scenario (random, cities)",
}


def stream_key(name: str) -> int:
    """The spawn-key integer of a stream name (CRC-32 of its UTF-8 bytes)."""
    return zlib.crc32(name.encode("utf-8"))


def check_seed(seed) -> int:
    """``seed`` as an int, or InputError if it is not a whole number >= 0."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a whole number >= 0, got {seed!r}")
    return int(seed)


def stream(seed: int, name: str, *index: int) -> np.random.Generator:
    """The generator of stream ``name`` (and sub-stream ``index``) of the run ``seed``."""
    if name not in STREAMS:
        raise KeyError(f"unregistered random stream {name!r}; add it to STREAMS")
    key = (stream_key(name), *(int(i) for i in index))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))
