"""Control plane: tenants, authentication, authorization (OPA format), audit chain and the module registry.

``control_plane.app:create_app`` builds the FastAPI application; ``lakehouse api`` serves it.
"""
