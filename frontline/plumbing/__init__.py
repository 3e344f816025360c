"""What every Frontline service needs to run; no business logic."""
