"""Seed data: the demo company (seed-demo) and the benchmark's large data set (seed-bench). Not services:
they use the services to build a world."""
