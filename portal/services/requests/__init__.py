"""Service requests: lifecycle, routing, SLA in business time, queues, filing, files, working a request."""
