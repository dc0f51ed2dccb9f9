"""Builders shared by several test files: each module is named by what it makes (fashion files, fake jobs, ...)."""
