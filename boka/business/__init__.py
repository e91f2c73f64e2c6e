"""A business on Boka: signing it up, its settings and the public profile of its booking page."""
