"""run.py's subcommands, one module each: `run` and `schedule` (blueprint_runs.py), `connections` and
`pipelines` (manage.py), `serve` (serve.py). Each module adds its parsers and runs its command; none knows of
the others."""
