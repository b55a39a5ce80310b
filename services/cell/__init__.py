"""The cell at work: every act of the crisis cell, checked against the actor's role, as events."""
