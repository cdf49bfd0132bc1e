"""Built-in controllers of the embedded cluster; they run in the API server's process and event loop."""
