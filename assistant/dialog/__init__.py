"""The dialog: the manager (locks, storage, listeners), the pure state machine (``flow``, with
``answering``, ``commands`` and auto mode's ``describing``), the ``utterances`` it decides on,
the ``replies`` that word them, and ``auto``, the language model that reads a description."""
