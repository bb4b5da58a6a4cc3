"""Speech: the audio format, voice activity, recognition and synthesis engines."""
