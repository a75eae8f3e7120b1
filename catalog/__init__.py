"""Scenic areas, sites, zones, opening hours and carrying capacities (LB/T 034-2014)."""
