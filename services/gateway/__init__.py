"""The gateway: public REST API ``/api/v1`` with bearer tokens, merged OpenAPI, agent pages."""
