"""Developer tools: test databases and sample data (not used at run time)."""
