"""Thin resolvers: decode input, call a domain service, map the result to a GraphQL type."""
