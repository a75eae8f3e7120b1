"""Timed-entry, real-name ticketing: products, slots, quotas, orders, payments, e-tickets."""
