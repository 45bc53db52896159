"""The real-time layer's plumbing: the event codec, stream consumers and the layer that wires them."""
