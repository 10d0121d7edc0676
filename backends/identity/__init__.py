"""Who is calling and what they may do: domains, accounts, users, keys, sessions, scope, limits, key pairs."""
