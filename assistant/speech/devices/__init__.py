"""Sound devices: listing, microphone, speaker and pacing through sounddevice, and in-memory
stand-ins (memory) for tests and tools."""
