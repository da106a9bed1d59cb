"""Letters: what the complainant is sent, rendered from templates and kept."""
