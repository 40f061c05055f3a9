"""Staff's side of organisations: making schools, communities, employers and agencies."""
