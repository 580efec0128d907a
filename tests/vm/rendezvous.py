"""A meeting point on loopback for jobs in VMs: GET /arrive/NAME, then GET /seen/NAME answers
200 once NAME has arrived (404 before).  Prints its port, then serves until killed."""
import http.server
import sys

arrived = set()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "arrive":
            arrived.add(parts[1])
            code = 200
        elif len(parts) == 2 and parts[0] == "seen":
            code = 200 if parts[1] in arrived else 404
        else:
            code = 400
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
sys.stdout.close()
server.serve_forever()
