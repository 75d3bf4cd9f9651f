"""A bumble controller with the fixes the strap emulation needs."""

from __future__ import annotations

import asyncio

from bumble import hci
from bumble.controller import Controller


class FixedController(Controller):
    """bumble's emulated controller, completing a cancelled pending LE connection.

    bumble 0.0.236 answers LE Create Connection Cancel with success but keeps the pending connection and never
    sends the LE Connection Complete event the spec requires (status Unknown Connection Identifier), so a host
    that cancels a connect to an absent device waits forever and every later connect is refused.
    """

    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        pending = self.pending_le_connection
        self.pending_le_connection = None
        if pending is not None:
            peer = pending.peer_address

            def complete() -> None:
                self.send_hci_packet(hci.HCI_LE_Connection_Complete_Event(
                    status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR, connection_handle=0,
                    role=hci.Role.CENTRAL, peer_address_type=peer.address_type, peer_address=peer,
                    connection_interval=0, peripheral_latency=0, supervision_timeout=0, central_clock_accuracy=0))

            asyncio.get_running_loop().call_soon(complete)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)
