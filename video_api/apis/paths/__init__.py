"""API classes by path: ``AuthApiKey(api_client).post(...)``."""
