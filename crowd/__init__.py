"""Crowd-flow monitoring: cameras, people counting, occupancy and capacity alerts."""
