"""Reading snapshots against each other or the live cluster: where a set of objects comes from (sources), what
changed between two sets (compare), when each object changed over a cluster's snapshots (timeline), and which
references dangle (check)."""
