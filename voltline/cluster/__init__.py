"""Cluster mode: several identical nodes on one PostgreSQL and one Redis (DESIGN §7).

On when `redis_url` is set. Redis carries what nodes must share at once: which node holds which
charge point's connection, commands and their answers between nodes, live events, and the
caches' invalidations. PostgreSQL stays the one copy of everything that must survive a node.
"""
