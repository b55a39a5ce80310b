"""Who is acting: principals, their sessions, and the NATS auth callout that admits them."""
