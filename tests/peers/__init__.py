"""Session fixtures that start real peers on free loopback ports (see gateway.peers)."""
