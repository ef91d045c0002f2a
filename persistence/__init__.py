"""Where sessions are stored: the checkpoint saver factory, the session table, SQLite and PostgreSQL."""
