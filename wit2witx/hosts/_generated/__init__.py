"""Generated host glue for the wasi-sockets reference host: see `wit2witx.hosts`."""
