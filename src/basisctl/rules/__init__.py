"""Rules as parameter sets for the one band policy: rule builders (paper, optimal, hold, fixed_leverage,
periodic), the walk-forward comparison and the Monte Carlo band scorer used to check the solver."""
