"""Data: built-in sources (`sources`), their renderers, and the shared Lightning data module (`module`)."""
