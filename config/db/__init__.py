"""Herald's SQLite database backend (``ENGINE = "config.db"``): Django's, with writers queued in-process."""
