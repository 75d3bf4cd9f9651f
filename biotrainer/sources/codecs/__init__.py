"""Byte codecs of what straps send: Bluetooth Heart Rate Measurement (:mod:`.hrs`) and Polar PMD (:mod:`.pmd`).

Pure functions on bytes (``parse_*`` / ``encode_*``) plus one stateful decoder per stream that turns raw packets of
one device into events (:class:`HrsDecoder`, :class:`PmdDecoder`); a malformed packet becomes a
:class:`~biotrainer.core.events.DecodeError` event, never an exception.
"""

from biotrainer.sources.codecs.hrs import (
    BeatTimeline,
    HeartRateMeasurement,
    HrsDecoder,
    MalformedPacket,
    encode_heart_rate_measurement,
    parse_heart_rate_measurement,
)
from biotrainer.sources.codecs.pmd import (
    MalformedPmd,
    PmdDecoder,
    PmdFrame,
    PmdResponse,
    encode_acc_frame,
    encode_ecg_frame,
    parse_pmd_frame,
    parse_pmd_response,
    start_command,
)

__all__ = [
    "BeatTimeline", "HeartRateMeasurement", "HrsDecoder", "MalformedPacket", "MalformedPmd", "PmdDecoder",
    "PmdFrame", "PmdResponse", "encode_acc_frame", "encode_ecg_frame", "encode_heart_rate_measurement",
    "parse_heart_rate_measurement", "parse_pmd_frame", "parse_pmd_response", "start_command",
]
