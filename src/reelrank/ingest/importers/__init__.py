"""Bulk importers: interaction files and MovieLens-1M, loaded through the engine's writers."""
