"""The shared operational picture: a fold of the ordered events, live and as of any instant."""
