"""Event sources: simulated strap, BLE straps, Polar PMD, replay, LSL inlet.

A source either *produces on schedule* (:class:`ScheduledSource`: simulator, replay; the session runner asks it for
every event up to a session time, so it runs in real time or as fast as the CPU allows) or *pushes* events from
its own thread or asyncio loop (:class:`PushSource`: BLE, LSL) into a thread-safe queue (:class:`EventQueue`) the
runner drains.

Sub-packages and modules, imported on demand (so importing this package stays cheap):

- :mod:`biotrainer.sources.codecs`: the byte codecs (Heart Rate Measurement, Polar PMD);
- :mod:`biotrainer.sources.ble`: Bluetooth LE straps through bleak (scan, :class:`BleStrapSource`);
- :mod:`biotrainer.sources.sim`: the simulators;
- :mod:`biotrainer.sources.replay`: a recorded session played back; :mod:`biotrainer.sources.lsl_inlet`: an LSL
  heart stream.
"""

from biotrainer.core.source import EventQueue, PushSource, ScheduledSource

__all__ = ["EventQueue", "PushSource", "ScheduledSource"]
