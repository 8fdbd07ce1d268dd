"""AWS access: sessions and credentials, clients with one retry policy, the API seam, error translation."""

from .clients import Clients

__all__ = ["Clients"]
