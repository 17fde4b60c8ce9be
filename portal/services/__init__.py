"""The domain: one function per use case, no Flask request objects, no templates."""
