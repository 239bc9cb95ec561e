"""silvergym: common."""
