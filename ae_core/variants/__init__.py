"""One module per variant; each registers itself with ``ae_core.registry.register``."""
