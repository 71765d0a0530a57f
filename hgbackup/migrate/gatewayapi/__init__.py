"""ingress-nginx Ingresses converted to Gateway API routes that Higress serves as nginx did: Gateways and
listeners, HTTPRoutes/GRPCRoutes with the filters Higress converts, plugins that name the routes, the report."""
