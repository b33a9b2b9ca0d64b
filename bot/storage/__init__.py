"""Storage: the tables, the repositories the services use (records in, records out, never ORM
rows), the accounting of money and counts, the shared line's rows, and the migrations."""
