"""Sound devices: real microphones and speakers through sounddevice, and in-memory ones for tests and tools."""
