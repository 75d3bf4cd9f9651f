"""The reconnect rule and loop without a radio: a scripted strap drives :func:`keep_connected`."""

from __future__ import annotations

import asyncio

import pytest

from biotrainer.core.errors import DeviceError, DeviceErrorReason
from biotrainer.sources.ble.reconnect import GiveUp, ReconnectPolicy, is_final, keep_connected
from biotrainer.sources.ble.stop import Dropped, Stopped, StopSignal

R = DeviceErrorReason
QUICK = ReconnectPolicy(initial_delay_s=0.001, factor=2.0, max_delay_s=0.004)


def err(reason: DeviceErrorReason) -> DeviceError:
    return DeviceError(f"failed: {reason.value}", reason)


@pytest.mark.parametrize(("reason", "searching", "ever_connected", "failures", "final"), [
    (R.NOT_FOUND, True, False, 0, True),  # never seen: nothing to wait for
    (R.SCAN_FAILED, True, False, 0, True),
    (R.NOT_FOUND, True, True, 5, False),  # mid-session the strap may come back
    (R.ADAPTER_OFF, False, False, 0, True),  # Bluetooth unusable before the first connection
    (R.ADAPTER_OFF, False, True, 0, False),  # ... but turned off mid-session: wait for it
    (R.PERMISSION, False, False, 0, True),
    (R.CONNECT_FAILED, False, False, 0, False),  # connect failures: three tries
    (R.CONNECT_FAILED, False, False, 1, False),
    (R.CONNECT_FAILED, False, False, 2, True),
    (R.TIMEOUT, False, False, 2, True),
    (R.GATT_FAILED, False, True, 50, False),
])
def test_one_retry_rule(reason, searching, ever_connected, failures, final):
    assert is_final(err(reason), searching=searching, ever_connected=ever_connected, failures=failures) is final


class ScriptedStrap:
    """Plays ``script``: one step per attempt, ``("search", error)``, ``("connect", error)``, ``("drop", why)``
    or ``("stop", None)`` (streams until stopped)."""

    def __init__(self, script: list[tuple[str, object]], stop: StopSignal | None = None) -> None:
        self.script = list(script)
        self.connections = 0
        self.retries: list[tuple[int, float, str]] = []
        self.firsts: list[bool] = []
        self.dropped_at: list[float | None] = []
        self.stop = stop
        self.t_s = 0.0

    def label(self) -> str:
        return "F0:00:00:00:00:31"

    def now_s(self) -> float:
        self.t_s += 1.0
        return self.t_s

    def retrying(self, attempt: int, delay_s: float, why: str) -> None:
        self.retries.append((attempt, delay_s, why))
        if not self.script and self.stop is not None:
            self.stop.set()  # the script ran out: stop during the backoff

    async def search(self, first: bool) -> object:
        self.firsts.append(first)
        kind, what = self.script[0]
        if kind == "search":
            self.script.pop(0)
            raise what
        return "device"

    async def stream(self, found: object, dropped_at: float | None) -> None:
        kind, what = self.script.pop(0)
        self.dropped_at.append(dropped_at)
        if kind == "connect":
            raise what
        self.connections += 1
        if kind == "drop":
            raise Dropped(what)


def run(strap: ScriptedStrap, policy: ReconnectPolicy = QUICK, stop: StopSignal | None = None) -> None:
    async def go() -> None:
        await keep_connected(strap, policy, stop or strap.stop or StopSignal())

    asyncio.run(go())


def final_error(strap: ScriptedStrap, policy: ReconnectPolicy = QUICK) -> DeviceError:
    """The error the loop gave up with (it must give up)."""
    with pytest.raises(GiveUp) as gave_up:
        run(strap, policy)
    return gave_up.value.error


def test_a_strap_never_found_fails_at_once():
    strap = ScriptedStrap([("search", err(R.NOT_FOUND))])
    assert final_error(strap).reason is R.NOT_FOUND and not strap.retries


def test_connect_failures_before_the_first_connection_get_three_tries():
    strap = ScriptedStrap([("connect", err(R.CONNECT_FAILED))] * 3)
    assert final_error(strap).reason is R.CONNECT_FAILED
    assert [a for a, _, _ in strap.retries] == [1, 2]
    assert strap.firsts == [True, False, False]  # "searching for" is announced once


def test_bluetooth_off_before_the_first_connection_fails_at_once():
    strap = ScriptedStrap([("connect", err(R.ADAPTER_OFF))])
    assert final_error(strap).reason is R.ADAPTER_OFF and not strap.retries


def test_after_a_drop_everything_is_retried_with_backoff_and_the_drop_time_is_kept():
    strap = ScriptedStrap([("drop", "link lost"), ("search", err(R.NOT_FOUND)), ("connect", err(R.ADAPTER_OFF)),
                           ("connect", err(R.TIMEOUT)), ("stop", None)])
    run(strap)
    assert [(a, d) for a, d, _ in strap.retries] == [(1, 0.001), (2, 0.002), (3, 0.004), (4, 0.004)]
    assert [why for _, _, why in strap.retries] == ["link lost", "failed: not_found", "failed: adapter_off",
                                                    "failed: timeout"]
    assert strap.dropped_at[0] is None and len(set(strap.dropped_at[1:])) == 1  # the gap counts from the drop
    assert strap.connections == 2


def test_max_attempts_gives_up_with_its_own_reason():
    strap = ScriptedStrap([("drop", "no data for 5 s")] + [("search", err(R.NOT_FOUND))] * 3)
    error = final_error(strap, ReconnectPolicy(initial_delay_s=0.001, max_attempts=2))
    assert error.reason is R.GAVE_UP
    assert str(error) == "F0:00:00:00:00:31: gave up after 2 reconnect attempts (failed: not_found)"


def test_a_stop_during_the_backoff_ends_the_loop():
    async def go() -> ScriptedStrap:
        stop = StopSignal()
        strap = ScriptedStrap([("drop", "link lost")], stop)
        with pytest.raises(Stopped):
            await keep_connected(strap, ReconnectPolicy(initial_delay_s=30.0), stop)
        return strap

    strap = asyncio.run(go())
    assert [a for a, _, _ in strap.retries] == [1]
