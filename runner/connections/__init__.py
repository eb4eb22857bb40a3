"""PagerDuty connections, DevLake's `{"id", "name", "endpoint", "token"}`: checked and read from a file
(files.py), kept in the lake database with their secrets encrypted (store.py, crypto.py), and tested against
PagerDuty (check.py)."""
