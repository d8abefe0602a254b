"""Route modules, one per URL resource."""
