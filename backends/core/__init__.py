"""What every area uses: async jobs, events, resource tags, configuration, state machines, lookups by id."""
