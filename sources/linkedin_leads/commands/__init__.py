"""The commands: ``check`` (everything a sync needs, nothing loaded), ``auth`` (a refresh token in
one command) and their command line."""
