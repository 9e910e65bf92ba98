"""A Nova-compatible subset of the Compute API v2.1.

``app.build_app`` assembles the WSGI application.
"""
