// Package testkit is what the tests here share: a service's binary run as a
// process (Start), polling (Eventually, WaitFor) and fetching (Get,
// HealthCheck), files from the runfiles tree (Runfile, Cert), gRPC servers in
// memory (Dial) and metric values (Value, Sum). It is testonly in Bazel, so
// no shipped binary can link it.
package testkit
