"""The event log: every event kept, in order, exactly once; the record of what the cell knew."""
