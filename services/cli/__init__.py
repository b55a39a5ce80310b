"""The `crisis` command line."""
