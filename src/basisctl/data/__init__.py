"""Data layer: canonical schemas, shipped datasets, readers, validation and downloaders."""
