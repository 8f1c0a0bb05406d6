"""The enqueue side: the job row in the caller's transaction, the publish after commit (outbox, hand-off)."""
