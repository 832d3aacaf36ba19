"""The Python client against the real Go server, over plaintext and mutual TLS."""

from __future__ import annotations

import contextlib
import io
import json
import os
import queue
import signal
import subprocess
import threading
import unittest
from collections.abc import Iterator

import grpc

import recommendations_client as client
from bookstore.recommendations.v1 import recommendations_pb2 as pb
from bookstore.recommendations.v1 import recommendations_pb2_grpc as pb_grpc

MYSTERY = pb.BookCategory.BOOK_CATEGORY_MYSTERY


def _runfile(env: str) -> str:
    # BUILD.bazel sets env to the file's path relative to the test's
    # working directory, the main repository's runfiles.
    return os.path.join(os.getcwd(), os.environ[env])


def _read(env: str) -> bytes:
    with open(_runfile(env), "rb") as f:
        return f.read()


class Server:
    """The recommendations binary, serving on a free loopback port."""

    def __init__(self, *flags: str) -> None:
        self.proc = subprocess.Popen(
            [_runfile("RECOMMENDATIONS_BIN"), "-grpc-addr=127.0.0.1:0", "-admin-addr=127.0.0.1:0", *flags],
            stderr=subprocess.PIPE,
            env={},  # only flags configure it
            text=True,
        )
        self.logs: list[str] = []
        addrs: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read_logs, args=(addrs,), daemon=True).start()
        try:
            self.addr = addrs.get(timeout=30)
        except queue.Empty:
            self.proc.kill()
            raise RuntimeError("recommendations did not serve within 30s:\n" + "".join(self.logs))

    def _read_logs(self, addrs: queue.Queue[str]) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.logs.append(line)
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if record.get("msg") == "serving gRPC":
                    addrs.put(record["addr"])

    def stop(self) -> int:
        """SIGTERM, as Kubernetes sends; the exit code of a graceful stop is 0."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


class RecommendationsClientTest(unittest.TestCase):
    server: Server

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = Server()

    @classmethod
    def tearDownClass(cls) -> None:
        code = cls.server.stop()
        if code != 0:
            raise AssertionError(f"recommendations exited {code} after SIGTERM:\n" + "".join(cls.server.logs))

    @contextlib.contextmanager
    def stub(self) -> Iterator[pb_grpc.RecommendationsServiceStub]:
        with client.channel(self.server.addr) as ch:
            yield pb_grpc.RecommendationsServiceStub(ch)

    def assert_code(self, request: pb.RecommendRequest, want: grpc.StatusCode) -> None:
        with self.stub() as stub, self.assertRaises(grpc.RpcError) as raised:
            stub.Recommend(request, timeout=5)
        err = raised.exception
        assert isinstance(err, grpc.Call)
        self.assertEqual(err.code(), want, err.details())

    def test_recommend_returns_distinct_books_of_the_category(self) -> None:
        with self.stub() as stub:
            books = client.recommend(stub, MYSTERY, max_results=5)
        self.assertEqual(len(books), 5)
        self.assertEqual(len({b.id for b in books}), 5, books)
        for book in books:
            self.assertEqual(book.category, MYSTERY, book)
            self.assertTrue(book.title and book.author, book)

    def test_zero_max_results_is_the_default_of_three(self) -> None:
        with self.stub() as stub:
            self.assertEqual(len(client.recommend(stub, MYSTERY)), 3)

    def test_unknown_category_is_not_found(self) -> None:
        self.assert_code(pb.RecommendRequest(category=pb.BookCategory.ValueType(99)), grpc.StatusCode.NOT_FOUND)

    def test_unset_category_is_invalid_argument(self) -> None:
        self.assert_code(pb.RecommendRequest(max_results=2), grpc.StatusCode.INVALID_ARGUMENT)

    def test_bad_max_results_is_invalid_argument(self) -> None:
        for max_results in (-1, 51):
            with self.subTest(max_results=max_results):
                request = pb.RecommendRequest(category=MYSTERY, max_results=max_results)
                self.assert_code(request, grpc.StatusCode.INVALID_ARGUMENT)

    def test_cli_prints_one_line_per_book(self) -> None:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = client.main(["--target", self.server.addr, "--category", "science-fiction", "--max-results", "4"])
        self.assertEqual(code, 0)
        self.assertEqual(len(out.getvalue().splitlines()), 4, out.getvalue())

    def test_cli_reports_the_status_of_a_failed_call(self) -> None:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = client.main(["--target", self.server.addr, "--category", "mystery", "--max-results", "51"])
        self.assertEqual(code, 1)
        self.assertIn("INVALID_ARGUMENT", err.getvalue())


class MutualTLSTest(unittest.TestCase):
    server: Server

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = Server(
            "-tls-mode=mtls",
            "-tls-cert=" + _runfile("SERVER_CERT"),
            "-tls-key=" + _runfile("SERVER_KEY"),
            "-tls-client-ca=" + _runfile("CA_CERT"),
        )

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()

    def test_client_with_an_allowed_certificate_is_served(self) -> None:
        ca, cert, key = _read("CA_CERT"), _read("CLIENT_CERT"), _read("CLIENT_KEY")
        with client.channel(self.server.addr, ca=ca, cert=cert, key=key) as ch:
            books = client.recommend(pb_grpc.RecommendationsServiceStub(ch), MYSTERY, max_results=2)
        self.assertEqual(len(books), 2)

    def test_client_without_a_certificate_is_refused(self) -> None:
        with client.channel(self.server.addr, ca=_read("CA_CERT")) as ch, self.assertRaises(grpc.RpcError) as raised:
            client.recommend(pb_grpc.RecommendationsServiceStub(ch), MYSTERY, timeout=5)
        err = raised.exception
        assert isinstance(err, grpc.Call)
        self.assertEqual(err.code(), grpc.StatusCode.UNAVAILABLE, err.details())


class ArgumentsTest(unittest.TestCase):
    def test_bad_arguments_are_refused_before_dialling(self) -> None:
        cases: list[tuple[str, dict[str, bytes]]] = [
            ("certificate without ca", {"cert": b"c", "key": b"k"}),
            ("certificate without key", {"ca": b"a", "cert": b"c"}),
        ]
        for name, kwargs in cases:
            with self.subTest(name), self.assertRaises(ValueError):
                client.channel("127.0.0.1:1", **kwargs)

    def test_service_config_is_the_shared_one(self) -> None:
        with open(_runfile("SERVICE_CONFIG"), encoding="utf-8") as f:
            shared = f.read()
        self.assertEqual(client.service_config(), shared)
        config = json.loads(client.service_config())
        self.assertEqual(config["loadBalancingConfig"], [{"round_robin": {}}])
        (method,) = config["methodConfig"]
        self.assertEqual(method["name"], [{"service": "bookstore.recommendations.v1.RecommendationsService"}])
        self.assertEqual(method["retryPolicy"]["retryableStatusCodes"], ["UNAVAILABLE"])
        self.assertEqual(config["retryThrottling"], {"maxTokens": 10, "tokenRatio": 0.1})

    def test_category_names(self) -> None:
        self.assertEqual(client.CATEGORIES, ("mystery", "science-fiction", "self-help"))
        self.assertEqual(client.category("self-help"), pb.BookCategory.BOOK_CATEGORY_SELF_HELP)
        with self.assertRaises(ValueError):
            client.category("poetry")


if __name__ == "__main__":
    unittest.main()
