"""Report queries over the warehouse. Each returns plain rows; rendering is the caller's."""
