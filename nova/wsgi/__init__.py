"""WSGI entry points (``<module>:application``) for WSGI servers."""
