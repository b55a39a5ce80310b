"""What every service stands on: settings, logging, the bus, and finding the running system."""
