"""The composition root: one process serving both APIs over one Cloud."""
