"""Every pass, one module each; their order is the registry's (``registry.REGISTRY``)."""
