"""The Telegram channel: an aiogram 3 bot, by concern: ``intake`` (updates into turns),
``commands``, ``replies`` (rendering), ``progress``, ``recovery``, with ``sender``,
``outbox`` and ``voice_notes`` beneath them and ``bot`` tying them together."""
