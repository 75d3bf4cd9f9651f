"""Event sources: simulated strap, BLE straps, Polar PMD, replay, LSL inlet.

A source either *produces on schedule* (:class:`ScheduledSource`: simulator, replay; the session runner asks it for
every event up to a session time, so it runs in real time or as fast as the CPU allows) or *pushes* events from
its own thread or asyncio loop (:class:`PushSource`: BLE, LSL) into a thread-safe queue the runner drains.
"""
