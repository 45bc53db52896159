"""Impression logging and labelling: what was served, and what the person did about it."""
