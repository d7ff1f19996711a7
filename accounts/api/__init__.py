"""The pipeline API's foundation: token authentication, scope permissions, errors and the base view that every
app's ``api.py`` builds on."""
