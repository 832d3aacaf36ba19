"""Wrong on purpose: with the generated stubs, mypy must refuse this call."""

from bookstore.recommendations.v1 import recommendations_pb2 as pb

request = pb.RecommendRequest(max_results="three")
