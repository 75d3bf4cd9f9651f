"""Emulated Bluetooth LE straps for tests and development, built on Google's bumble (pinned: bumble==0.0.236).

- :mod:`tests.emulated.controller`: a bumble controller with the fixes the emulation needs.
- :mod:`tests.emulated.strap`: :class:`EmulatedStrap`, a GATT server with Heart Rate (0x2A37 notify, 0x2A38),
  Battery (0x2A19) and optionally Polar PMD (control point + data, ECG/ACC).
- :mod:`tests.emulated.radio`: :class:`Radio`, the emulated world (link, straps, one host adapter) on its own
  asyncio loop thread, in-process or linked over TCP to :mod:`tests.emulated.server` in another process.
- :mod:`tests.emulated.backend`: bleak scanner and client backend classes built on the radio's bumble central, so
  the real bleak front-end (``BleakScanner(backend=...)``, ``BleakClient(..., backend=...)``) runs against it.
  ``--ble-backend tests.emulated.backend:factory`` uses it from the CLI.
"""

BUMBLE_VERSION = "0.0.236"
