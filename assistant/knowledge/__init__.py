"""The knowledge base: passages, embedders, chromadb, and the answers and examples drawn from it."""
