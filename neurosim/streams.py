"""The random streams of a run: independent generators derived from its seed (numpy ``SeedSequence`` spawn keys).

The topology, the initial weights, and for every epoch its data order and its signs of beta each have a stream
of their own; an epoch's stream depends only on (seed, epoch), so a run resumed after epoch k continues exactly as
an uninterrupted one. The hardware's fixed device draws (STREAM_DEVICES) and its per-epoch noise (STREAM_NOISE)
have streams of their own too, so an ideal and a hardware run of one seed share topology, initial weights, data
order and signs of beta.
"""

from __future__ import annotations

import numpy as np

#: Spawn keys of the random streams (STREAM_RULE_DEVICES: the fixed draws of the devices of a rule's own parameters).
(STREAM_TOPOLOGY, STREAM_INIT, STREAM_ORDER, STREAM_SIGN, STREAM_DEVICES, STREAM_NOISE, STREAM_FEEDBACK,
 STREAM_RULE_DEVICES) = range(8)


def stream(seed: int, *key: int) -> np.random.Generator:
    """The random stream ``key`` of run seed ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def stream_seed(seed: int, *key: int) -> int:
    """An integer seed for functions that take one (topology generators), drawn from stream ``key``."""
    return int(stream(seed, *key).integers(2**63 - 1))
