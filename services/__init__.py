"""silvergym: services."""
