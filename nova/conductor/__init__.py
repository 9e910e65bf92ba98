"""The side of the API that owns the database and drives the computes.

Compute services have no database access: they report to the conductor
topic (served by nova-api, or nova-all), and the API's task workers call
them and record what happened.
"""
