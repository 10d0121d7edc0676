"""The one backend behind both APIs: database, managers, drivers."""
