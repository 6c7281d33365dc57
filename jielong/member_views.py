"""Member pages of a jielong (mobile, 375 px)."""
