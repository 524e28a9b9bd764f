"""Reading: the resource bodies, owners discovered, time slices planned and read concurrently,
progress kept in the state, and what the writers of one dataset share."""
