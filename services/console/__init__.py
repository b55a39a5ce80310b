"""The operator console: one page in the browser, live, with roles checked on the server."""
