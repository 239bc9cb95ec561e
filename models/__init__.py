"""silvergym: models."""
