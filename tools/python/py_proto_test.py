"""py_grpc_proto_library over a proto_library of two files."""

import unittest

from demo.v1 import farewell_pb2, greeting_pb2, greeting_pb2_grpc


class PyProtoTest(unittest.TestCase):
    def test_both_files_import_under_their_proto_package(self) -> None:
        farewell = farewell_pb2.Farewell(last=greeting_pb2.Greeting(text="bye"))
        got = farewell_pb2.Farewell.FromString(farewell.SerializeToString())
        self.assertEqual(got.last.text, "bye")

    def test_grpc_stubs(self) -> None:
        self.assertTrue(hasattr(greeting_pb2_grpc, "GreeterStub"))


if __name__ == "__main__":
    unittest.main()
