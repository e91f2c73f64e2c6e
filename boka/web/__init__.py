"""HTTP and websocket edge: the app factory, routes and middleware."""
