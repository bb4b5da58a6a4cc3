"""facility-assistant: the dialog core and the service around it."""

__version__ = "0.1.0"
