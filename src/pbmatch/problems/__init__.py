"""Domain problems: each encodes itself into a numeric problem, solves it and decodes ids."""
