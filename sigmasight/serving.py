"""Whether this process is a web server (``python -m sigmasight.serve``): set by the server
before Django starts, read by what only a server runs (the embedded market producer)."""

#: "1" in a server process.
SERVING_ENV = "SIGMASIGHT_SERVING"
