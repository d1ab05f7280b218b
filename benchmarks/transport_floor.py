"""The floor of each serving transport: a request that does no work, to a server that holds
nothing of ours, asked by the stock client over loopback.

    python benchmarks/transport_floor.py [--requests 2000] [--rounds 3]

Three servers, each in a process of its own:
- grpcio's thread-pool server (`grpc.server`) with a stock `ModelServiceServicer` that answers
  an empty GetModelStatusResponse, as `babyweight serve --grpc-port` runs it;
- the same servicer on `grpc.aio.server`;
- uvicorn (httptools, uvloop, as `babyweight serve` runs it) with a Starlette route that answers
  `{}`.
The gRPC servers are asked by TF Serving's stock stub (`ModelServiceStub`), uvicorn by
http.client with keep-alive, one request at a time, measured as benchmarks/serving_apis.py
measures (its `timed`). Each line gives p50 latency and the CPU each
request cost the client (this process, every thread) and the server (its every thread, from
/proc/PID/task/*/schedstat). It shows what no servicer can go under: if the gRPC floor is above
REST's whole request, gRPC's overhead cannot be under REST's (issue 24's goal), whatever the
servicer does.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import subprocess
import sys

import babyweight  # noqa: F401 (quiet TensorFlow logs, as the server has them)

from serving_apis import timed

SERVERS = ("grpc thread pool", "grpc.aio", "uvicorn")


def serve(kind: str) -> None:
    """Run one floor server on a free loopback port; print the port, then serve forever."""
    import grpc
    from tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc

    if kind == "uvicorn":
        import uvicorn
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def live(request):
            return JSONResponse({})

        import socket

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)  # a client may connect before uvicorn accepts
        print(sock.getsockname()[1], flush=True)
        app = Starlette(routes=[Route("/live", live)])
        # loop and http "auto": uvloop and httptools when installed, as `babyweight serve`
        uvicorn.Server(uvicorn.Config(app, log_level="error")).run(sockets=[sock])
        return

    class Status(model_service_pb2_grpc.ModelServiceServicer):
        def GetModelStatus(self, request, context):  # noqa: N802
            return get_model_status_pb2.GetModelStatusResponse()

    class AsyncStatus(model_service_pb2_grpc.ModelServiceServicer):
        async def GetModelStatus(self, request, context):  # noqa: N802
            return get_model_status_pb2.GetModelStatusResponse()

    if kind == "grpc thread pool":
        from concurrent import futures

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        model_service_pb2_grpc.add_ModelServiceServicer_to_server(Status(), server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        print(port, flush=True)
        server.wait_for_termination()
        return

    async def run():
        server = grpc.aio.server()
        model_service_pb2_grpc.add_ModelServiceServicer_to_server(AsyncStatus(), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        print(port, flush=True)
        await server.wait_for_termination()

    asyncio.run(run())


def ask(kind: str, n: int) -> dict:
    """n sequential no-op requests to a fresh `kind` server (after serving_apis.WARM not
    measured): p50 ms, CPU ms per request (serving_apis.timed)."""
    proc = subprocess.Popen([sys.executable, __file__, "--serve", kind], stdout=subprocess.PIPE)
    try:
        port = int(proc.stdout.readline())
        if kind == "uvicorn":
            conn = http.client.HTTPConnection("127.0.0.1", port)

            def one():
                conn.request("GET", "/live")
                response = conn.getresponse()
                assert response.status == 200 and response.read() == b"{}"
        else:
            import grpc
            from tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc

            stub = model_service_pb2_grpc.ModelServiceStub(
                grpc.insecure_channel(f"127.0.0.1:{port}")
            )
            request = get_model_status_pb2.GetModelStatusRequest()

            def one():
                stub.GetModelStatus(request, timeout=30)

        return timed(lambda i: one(), n, proc.pid)
    finally:
        proc.kill()
        proc.wait()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="fresh servers per transport")
    parser.add_argument("--serve", choices=SERVERS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    print(f"{'server':<18}{'p50 ms':>9}{'client CPU':>12}{'server CPU':>12}   "
          f"(CPU: ms per request; {args.requests} requests, one client)")  # fmt: skip
    for _ in range(args.rounds):
        for kind in SERVERS:
            r = ask(kind, args.requests)
            print(f"{kind:<18}{r['p50_ms']:>9.3f}{r['client_cpu_ms']:>12.3f}"
                  f"{r['server_cpu_ms']:>12.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
