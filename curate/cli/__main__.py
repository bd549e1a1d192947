from curate.cli.main import app

app()
