"""OpenStack-style REST APIs."""
