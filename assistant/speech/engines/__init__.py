"""Speech engines, one module each: recognisers (Vosk, PocketSphinx) and voices (Piper, Open JTalk,
espeak-ng). Each module registers itself with ``registry``; adding an engine is adding a file."""
