"""Staff users of the console and the staff API, with their roles."""
