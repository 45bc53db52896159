"""reelrank: a real-time recommendation engine for Reels and Explore feeds."""

__version__ = "0.1.0"
