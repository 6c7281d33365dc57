"""Fission (裂变): help-sellers (帮卖) with their own share links, attribution of orders to the link that brought
them, commission rules per campaign, the leaders' pickup-point commission, and settlement statements.

Sits beside ``aftersales`` and ``feedback`` above ``fulfillment``: it reads jielong and fulfilment, and reacts to
them through their hook registries (``jielong.hooks``, ``fulfillment.hooks``). Money moves only through
``jielong.ledger`` (kinds ``commission`` and ``clawback``, naming the payee).
"""
