"""Operations: /health, /ready and Prometheus /metrics of a running system."""
