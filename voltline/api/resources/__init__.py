"""REST resources, one module per resource, each exposing `router`."""
