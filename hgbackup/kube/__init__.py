"""The Kubernetes side: the API client, the kinds hgbackup knows (catalogue) and the references between them,
object names as the API server accepts them, manifest files (YAML/JSON) and the stored form of an object."""
