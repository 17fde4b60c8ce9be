"""Contracts and their entitlement ledgers."""
