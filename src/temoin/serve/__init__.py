"""Stage 6: the association's web app over the same Archive the CLI uses (`temoin serve`)."""
