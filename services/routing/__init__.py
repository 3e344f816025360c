"""routing — skill-based routing of contacts to agents."""
