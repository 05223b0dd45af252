"""The GraphQL gateway (Strawberry) at ``/graphql``: the same authentication, PDP and tenant scoping as REST."""
