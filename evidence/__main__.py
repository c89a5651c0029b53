from evidence.cli import cli

# Guarded: the ingest's spawned parse worker imports this module as __mp_main__.
if __name__ == "__main__":
    cli()
