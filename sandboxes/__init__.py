"""Offline AWS emulators for development and tests (dev extra only; never in the product or its Glue wheel).

One folder per service family (``partner_central``, ``marketplace``) on one shared base: ``_http`` (server, fault
injection, command line), ``_sigv4`` (signature check) and ``_model`` (validation against botocore's models).
"""
