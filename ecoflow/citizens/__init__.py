"""What citizens reach without an account: Open311 GeoReport v2 and the case lookup."""
