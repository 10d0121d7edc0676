"""The physical cloud: regions, zones, pods, clusters, hosts and their heartbeat, primary and image stores."""
