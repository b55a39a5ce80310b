"""A sample crisis to show the system working: storm Alex in the Alpes-Maritimes (October 2020)."""
