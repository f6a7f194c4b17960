#!/usr/bin/env python3
"""A static file server for the local-registry tests: serves ROOT on 127.0.0.1 (a free port,
written to PORT_FILE once listening) and logs every request as "HOST PATH" to LOG_FILE.

  serve.py ROOT PORT_FILE LOG_FILE [CERT KEY]    (with CERT and KEY: https)
"""
import functools
import http.server
import os
import ssl
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        with open(self.server.log_path, "a", encoding="utf-8") as log:
            log.write(f"{self.headers.get('Host', '')} {self.path}\n")
        super().do_GET()

    def log_message(self, *args):
        pass


def main():
    root, port_file, log_path = sys.argv[1:4]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=root))
    server.log_path = log_path
    if len(sys.argv) > 5:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[4], sys.argv[5])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    tmp = port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
