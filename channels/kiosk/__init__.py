"""The voice kiosk: microphone, voice activity, recognition, dialog, synthesis, speaker, with barge-in."""
