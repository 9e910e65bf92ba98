"""Response bodies for each resource, built from compute API dicts."""
