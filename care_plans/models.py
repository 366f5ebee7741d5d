"""Models of this app (see DESIGN.md)."""
