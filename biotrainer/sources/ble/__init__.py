"""Bluetooth LE heart-rate straps through bleak: the public entry points.

- :func:`scan` / :func:`scan_async`: straps advertising the Heart Rate Service (0x180D), with name, address,
  RSSI, battery where readable and the matching device profile (:mod:`biotrainer.sources.ble.profiles`).
- :class:`BleStrapSource`: one strap as a :class:`~biotrainer.core.source.PushSource` on its own asyncio loop
  thread, with reconnect (:class:`ReconnectPolicy`), PMD ECG/ACC for straps that offer it, battery and
  connection events.
- :func:`open_device_source`: what ``biotrainer record --device auto|ADDRESS|NAME`` and the GUI's device picker
  call; resolves the strap first so a missing strap is a one-line :class:`~biotrainer.core.errors.DeviceError`.
- :func:`load_backend`: ``--ble-backend MODULE:FACTORY`` → ``(scanner_backend_cls, client_backend_cls)``, e.g.
  ``tests.emulated.backend:factory`` for an emulated strap in another process.

Inside, one module per job: :mod:`.scan` (finding straps), :mod:`.link` (one connection), :mod:`.battery`,
:mod:`.pmd_control` (Polar PMD start/stop), :mod:`.reconnect` (backoff and the retry rule), :mod:`.loop_thread`
and :mod:`.stop` (the source's own asyncio loop, stoppable at once), :mod:`.profiles` (``devices/*.toml``) and
:mod:`.common` (backends, bleak error translation with reasons, strap claims). Failures are
:class:`~biotrainer.core.errors.DeviceError` with a :class:`~biotrainer.core.errors.DeviceErrorReason`.

bleak is imported lazily, inside the functions that talk to Bluetooth.
"""

from __future__ import annotations

from biotrainer.core.errors import DeviceError, DeviceErrorReason
from biotrainer.sources.ble.common import BleBackends, backends_from, device_error, load_backend
from biotrainer.sources.ble.profiles import DeviceProfile, load_profiles
from biotrainer.sources.ble.scan import FoundStrap, find_strap, find_strap_async, scan, scan_async
from biotrainer.sources.ble.strap import BleStrapSource, ReconnectPolicy


def open_device_source(spec: str, participant: str, backend_spec: str | None = None, *,
                       scan_timeout_s: float = 10.0) -> BleStrapSource:
    """A :class:`BleStrapSource` for ``--device auto|ADDRESS|NAME``.

    Parameters
    ----------
    spec : str
        ``auto`` (first strap advertising 0x180D not already used by another source in this process), a
        Bluetooth address (or macOS device UUID), or a name (case-insensitive substring of the advertised name).
    participant : str
        Whose strap it is: ``self``, ``client`` or ``therapist``.
    backend_spec : str, optional
        ``MODULE:FACTORY`` for other bleak backends (``--ble-backend``); None uses the platform's Bluetooth.
    scan_timeout_s : float
        How long to look for the strap before failing.

    Returns
    -------
    BleStrapSource
        Not started; the session runner starts it. ``source.found`` is the :class:`FoundStrap` (name, address,
        profile id and model) and ``source.profile`` the :class:`~biotrainer.sources.ble.profiles.DeviceProfile`. Raises DeviceError (one line naming what was searched for, or
        why Bluetooth is unusable) when no matching strap is advertising.
    """
    backends = load_backend(backend_spec) if backend_spec else BleBackends()
    found = find_strap(spec, scan_timeout_s, backends)
    profile = load_profiles().get(found.profile_id)
    source = BleStrapSource(found.address, participant, profile=profile, backends=backends,
                            scan_timeout_s=scan_timeout_s, found=found)  # found: for the session header
    if not source.claim(found.address):  # held from now, so the next --device auto picks another strap
        raise DeviceError(f"strap {found.name} ({found.address}) is already used by another source",
                          DeviceErrorReason.IN_USE)
    return source


__all__ = [
    "BleBackends", "BleStrapSource", "DeviceProfile", "FoundStrap", "ReconnectPolicy", "backends_from",
    "device_error", "find_strap", "find_strap_async", "load_backend", "load_profiles", "open_device_source", "scan",
    "scan_async",
]
