"""ingress-nginx Ingresses converted to Higress Ingresses (each annotation as a handler, plugins generated where
Higress needs one, spec findings, the report)."""
