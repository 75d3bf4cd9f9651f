"""Emulated straps in their own process, reachable over TCP, for running the whole app without hardware.

Terminal 1 (from the repository root)::

    python -m tests.emulated.server --port 9730

Terminal 2::

    biotrainer scan --ble-backend tests.emulated.backend:factory
    biotrainer record --device auto --ble-backend tests.emulated.backend:factory ...

The server puts the straps and one extra bumble controller on a shared link; that controller speaks HCI over TCP
(``tcp-server:_:PORT``). :func:`tests.emulated.backend.factory` in the app process runs a bumble host on
``tcp-client:127.0.0.1:PORT`` (``$BIOTRAINER_EMULATED_HCI`` overrides), so the app sees a Bluetooth adapter with
the straps in range. One app process at a time; when it goes away, the straps drop its links and advertise again.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import threading

import numpy as np

from tests.emulated.controller import FixedController
from tests.emulated.radio import Radio
from tests.emulated.strap import StrapConfig

log = logging.getLogger("tests.emulated.server")

STRAPS = {
    "polar_h10": StrapConfig(name="Polar H10 0A1B2C3D", address="F0:00:00:00:00:01", pmd=True, battery_percent=87),
    "tickr": StrapConfig(name="TICKR 4F2A", address="F0:00:00:00:00:02", pmd=False, battery_percent=64),
    "generic": StrapConfig(name="HR Sensor 77", address="F0:00:00:00:00:03", pmd=False, battery_percent=40,
                           contact_supported=False),
}


def breathing_rr_1024(n: int, seed: int, breaths_per_min: float = 6.0) -> list[int]:
    """A plausible resting RR series with RSA at the breathing rate (for demos, not science)."""
    rng = np.random.default_rng(seed)
    rr_ms = []
    t_s = 0.0
    for _ in range(n):
        v = 900.0 + 70.0 * np.sin(2 * np.pi * breaths_per_min / 60.0 * t_s) + rng.normal(0.0, 15.0)
        rr_ms.append(v)
        t_s += v / 1000.0
    return [int(round(v * 1.024)) for v in rr_ms]


async def _attach_tcp_controller(radio: Radio, port: int) -> tuple[FixedController, object]:
    from bumble.transport import open_transport

    transport = await open_transport(f"tcp-server:_:{port}")
    controller = FixedController("tcp-adapter", host_source=transport.source, host_sink=transport.sink,
                                 link=radio.link)
    return controller, transport


async def _watch_client(radio: Radio, controller: FixedController, transport: object) -> None:
    """When the app process goes away, drop its links so the straps advertise again for the next one."""
    had_client = False
    while True:
        await asyncio.sleep(0.2)
        has_client = getattr(transport.sink, "transport", None) is not None  # type: ignore[attr-defined]
        if had_client and not has_client:
            log.info("app disconnected; resetting links")
            controller.pending_le_connection = None
            for strap in radio.straps:
                await strap.adisconnect(0x08)
        had_client = has_client


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Emulated heart-rate straps over TCP (bumble).")
    parser.add_argument("--port", type=int, default=9730, help="TCP port of the HCI adapter (default 9730)")
    parser.add_argument("--straps", default="polar_h10,tickr", help=f"comma list of {', '.join(STRAPS)}")
    parser.add_argument("--speed", type=float, default=1.0, help="time compression of the beat stream")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    names = [n.strip() for n in args.straps.split(",") if n.strip()]
    unknown = [n for n in names if n not in STRAPS]
    if unknown:
        print(f"unknown strap {unknown[0]!r} (known: {', '.join(STRAPS)})", file=sys.stderr)
        return 2
    radio = Radio()
    try:
        controller, transport = radio.call(_attach_tcp_controller(radio, args.port))
        for i, name in enumerate(names):
            cfg = STRAPS[name]
            cfg.speed = args.speed
            strap = radio.add_strap(cfg)
            strap.start_beats(breathing_rr_1024(600, seed=i), repeat=True)
        asyncio.run_coroutine_threadsafe(_watch_client(radio, controller, transport), radio.loop)
        print(f"emulated straps {', '.join(names)} ready on tcp port {args.port}", flush=True)
        done = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: done.set())
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        radio.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
