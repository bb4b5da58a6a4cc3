"""Checks an artifact must pass before it is delivered: a failed check never ships; the user hears
one plain sentence, and the reason is in the log and in the generation's row."""
