"""Generation behind a port: the queue that turns confirmed answers into artifacts and survives restarts."""
