"""The web chat: the accessible page and its websocket (see ``channel``)."""
