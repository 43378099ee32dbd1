"""Nothing: what remains is the fixed start-up and shut-down cost."""
