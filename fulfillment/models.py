"""Fulfilment (履约): pick lists, cold-chain batches, pickup verification (核销), after-sales.

The models arrive with the fulfilment work; this app already sits in its place in the layering
(it may read jielong orders, nothing below imports it).
"""
