"""gunicorn in production: ``gunicorn frontoffice.wsgi --config frontoffice/gunicorn.conf.py``.

Behind a TLS-terminating proxy (which sets X-Forwarded-Proto; see SECURE_PROXY_SSL_HEADER).
Every value can be changed from the environment, or on the command line (which wins).
The defaults were measured with bench/api_load.py on a 2-core machine (README, Benchmarks).
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# One process per core, threads to overlap the waits on PostgreSQL. With bench/api_load.py on
# 2 cores, gthread 2 x 8 and 2 x 4 cost the same CPU per request within the noise; 3 x 4 and
# sync workers (a process per connection, no keep-alive) cost up to a third more.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# Keep-alive connections from the proxy are reused instead of reconnecting per request.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# The proxy's address, whose X-Forwarded-* headers are trusted.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# The proxy logs requests; gunicorn logs errors to stderr.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
