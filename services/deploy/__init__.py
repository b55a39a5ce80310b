"""Deployment generators: the secured NATS configuration, the 3-node cluster."""
