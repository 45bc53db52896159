"""Learned models as versioned artifacts, and their serving side (inference only, never training loops).

`features.py` and `sequence.py` are numpy-only and shared by training and serving so both see the
same inputs; `two_tower.py` holds the torch modules and is imported only when a model is trained or
loaded, so `import reelrank.engine` pulls in no torch on an install without a model.
"""
