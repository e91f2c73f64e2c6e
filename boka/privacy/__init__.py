"""Customers' own data (GDPR): reading everything Boka holds about a customer, erasing it while
keeping the ledger whole, and an account holder deleting their account."""
