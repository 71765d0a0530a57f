"""What a snapshot holds and how it is taken: the selection rules over candidates (live or from files), the one
scope both capture and restore obey (confine), what was listed completely (coverage), packing objects into the
archive as they arrive, and the snapshot verb that writes it to a store."""
