"""Many short-lived request threads competing for the GIL, the way a
threaded server runs: threads are grouped by name in the viewer."""

import hashlib
import threading


def handle_request(n):
    data = str(n).encode() * 2000
    for _ in range(30):
        data = hashlib.sha256(data).digest() * 200


def serve(requests):
    for start in range(0, requests, 8):
        threads = [threading.Thread(target=handle_request, args=(i,),
                                    name=f"request-{i}")
                   for i in range(start, start + 8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


if __name__ == "__main__":
    serve(96)
    print("served 96 requests")
