"""Business rules and transactions, one manager per area. No HTTP here."""
