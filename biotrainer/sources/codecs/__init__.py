"""Byte codecs: the Bluetooth SIG Heart Rate Measurement (:mod:`.hrs`) and Polar PMD (:mod:`.pmd`)."""
