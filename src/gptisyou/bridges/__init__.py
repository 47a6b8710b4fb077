"""Bridges: the clone in a messenger (`telegram`, `discord`), safe by construction (`core`).

`core` decides everything a bridge does, whatever the messenger: who may talk to the clone, the disclosure that it
is an AI imitation, each chat's context, the pace of replies and one generation at a time. The messenger modules
only translate their library's events into `core.Incoming` and send what it asks.
"""
