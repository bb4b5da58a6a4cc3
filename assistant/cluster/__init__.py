"""Several instances serving one database (issue 17): what they must share, behind ports.

Without ``redis_url`` none of this is used: one process (or several over one SQLite file,
following each other by polling) works as before. With it, the per-session lock, the rate
counters kept in memory, the news of committed turns and the Telegram bot's lease live in
Redis (``redis.asyncio``, the ``cluster`` extra), imported only when configured.
"""
