"""The evidence layer's pipeline API: a use case's OSCAL documents for the GRC platform; ``views`` hold the
endpoints and ``urls`` the routes, as in the registry's API."""
