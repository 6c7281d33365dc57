"""Feedback (反馈): reviews (晒单) after pickup, shown as social proof, and the NPS survey per delivered campaign.

It sits above fulfillment (a pickup makes an order reviewable and sends the survey) and beside ``aftersales``;
nothing below imports it.
"""
