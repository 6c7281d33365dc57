"""Interfaces to services this machine cannot always reach (SMS gateways), each with a local provider."""
