"""The app registry the pub/sub nodes call on a cache miss (the stand-in for a cloud dependency)."""
