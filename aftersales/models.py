"""After-sales (售后): members' requests with SLA timers, refunds through the payment providers, and the money
ledger every payment, refund, credit and commission is written to.

It sits above fulfillment (a shortage opens a request; a replacement creates a fulfilment order) and beside
``feedback``; nothing below imports it.
"""
