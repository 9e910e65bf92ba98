"""The REST APIs nova serves."""
