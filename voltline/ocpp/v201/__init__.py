"""OCPP 2.0.1: what a 2.0.1 charge point sends, translated to the services, and what the Central
System sends, translated from the domain's requests.

One module per functional block, each holding that block's inbound handlers (`HANDLERS`) and
outbound translators (`ENCODERS`, `READERS`, `ANSWERS`); `inbound.py` and `outbound.py` gather
them for the version registry (voltline/ocpp/versions.py). Nothing here decides anything: the
rules live in the services, which serve 1.6 and 2.0.1 alike.
"""
