"""What runs in a worker process: the actor, the claim, the writer, liveness, slots and the worker middleware."""
