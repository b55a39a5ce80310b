"""Points de situation: numbered, summarised and rendered from the picture of a crisis."""
