"""Speech engines, one module each: recognisers (Vosk, PocketSphinx) and voices (Piper, Open JTalk, espeak-ng)."""
