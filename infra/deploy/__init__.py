"""Deployment helpers: generated template pieces, template checks and the import-time benchmark."""
