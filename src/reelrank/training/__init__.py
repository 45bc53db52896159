"""Offline training from the engine's own logs (torch). Serving never imports this package."""
