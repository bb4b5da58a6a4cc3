"""The PostgreSQL store (issue 17): the same ports as the SQLite store, for several instances.

One module per concern, as in the SQLite store beside it: ``database`` (the connection pool and
its transactions), ``migrate`` with ``migrations/`` (the versioned schema), ``lease`` (which
process owns a running generation task), ``sessions``, ``turns``, ``queue``, ``artifacts``,
``links``; ``store.PostgresStore`` composes them into the ports. The package imports psycopg
only below this file, so naming it costs nothing where the ``postgres`` extra is absent.
"""
