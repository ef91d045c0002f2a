"""Tools that act on the Hugging Face Hub: repos, datasets, papers, docs, Jobs."""
