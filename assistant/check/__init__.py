"""assistant check: what is installed, what is missing, and the command that gets each missing part."""
