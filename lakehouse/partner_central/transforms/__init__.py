"""Pure DataFrame -> DataFrame transforms, by layer. No I/O, no session creation, no settings."""
