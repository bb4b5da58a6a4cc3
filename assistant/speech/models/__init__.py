"""Speech models: the manifest, fetching and assembling them with sha256 checks, and finding what is installed."""
