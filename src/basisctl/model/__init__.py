"""Pure model functions (no I/O): barrier, liquidation probability, static solvers, bands, policy."""
