"""Guest networks and addresses, security groups (NAT, load balancing and VPCs join here)."""
